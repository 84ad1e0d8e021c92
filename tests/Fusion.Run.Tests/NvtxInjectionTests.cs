using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fusion.Run.Tests;

/// <summary>
/// The NVTX 3 injection protocol without a profiler: this test plays the tool. Its InitializeInjectionNvtx2 reads the export
/// tables the way Nsight's injection library does (version info, then the CORE module's function table), writes handlers
/// into the push and pop slots, and records what the client calls them with.
/// </summary>
public sealed unsafe class NvtxInjectionTests
{
    private static readonly List<string> s_calls = [];
    private static uint s_versionSeen;
    private static uint s_coreSize;

    [Fact]
    public void ToolReceivesPushedNamesAndPops()
    {
        Assert.True(NvtxInjection.Install(&Initialize));
        Assert.Equal(3u, s_versionSeen);
        Assert.Equal(16u, s_coreSize); // NVTX_CBID_CORE_SIZE
        Assert.True(NvtxInjection.HasRanges);
        s_calls.Clear();
        NvtxInjection.Push("window_attention_h3_d32_t49_nw64_masked");
        NvtxInjection.Push("gemm_bias_gelu_n384_k96 ünïcode");
        NvtxInjection.Pop();
        NvtxInjection.Pop();
        Assert.Equal(["push window_attention_h3_d32_t49_nw64_masked", "push gemm_bias_gelu_n384_k96 ünïcode", "pop", "pop"], s_calls);
    }

    [Fact]
    public void UnsetPathSaysNoProfilerIsAttached()
    {
        if (Environment.GetEnvironmentVariable(NvtxInjection.PathVariable) is { Length: > 0 })
            Fusion.Testing.VisibleSkip.Because("running under a profiler", $"{NvtxInjection.PathVariable} is set", "run without Nsight to check the unset path");
        Assert.Contains("no profiler attached", NvtxInjection.InstallFromEnvironment());
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Initialize(delegate* unmanaged[Cdecl]<uint, void*> getExportTable)
    {
        var version = (nint*)getExportTable(3);
        if (version is null || version[0] < 3 * sizeof(nint)) return 0;
        s_versionSeen = *(uint*)&version[1];
        var callbacks = (nint*)getExportTable(1);
        if (callbacks is null || getExportTable(2) is not null) return 0;
        var getModule = (delegate* unmanaged[Cdecl]<int, nint**, uint*, int>)callbacks[1];
        nint* table;
        uint size;
        if (getModule(1, &table, &size) == 0 || getModule(7, &table, &size) != 0) return 0;
        getModule(1, &table, &size);
        s_coreSize = size;
        if (table[0] != 0 || table[size] != 0) return 0;
        *(nint*)table[9] = (nint)(delegate* unmanaged[Cdecl]<byte*, int>)&Push;
        *(nint*)table[11] = (nint)(delegate* unmanaged[Cdecl]<int>)&Pop;
        return 1;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Push(byte* message)
    {
        s_calls.Add("push " + Marshal.PtrToStringUTF8((nint)message));
        return 0;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Pop()
    {
        s_calls.Add("pop");
        return 0;
    }
}
