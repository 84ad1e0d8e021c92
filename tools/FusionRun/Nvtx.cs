using System.Runtime.InteropServices;

namespace Fusion.Run;

/// <summary>
/// NVTX ranges around each operator call so Nsight shows each fused op by name. Under a profiler that injects through
/// NVTX_INJECTION64_PATH (Nsight Systems and Nsight Compute do; CUDA 13 ships NVTX as headers only, so this is how its
/// tools get ranges) <see cref="NvtxInjection"/> speaks the protocol itself; otherwise an NVTX 2 library (libnvToolsExt.so.1,
/// older toolkits) is used where one is installed. Neither: <see cref="IsAvailable"/> is false and ranges are off.
/// </summary>
internal static partial class Nvtx
{
    private const string Library = "libnvToolsExt.so.1";

    private static readonly Lazy<Mode> s_mode = new(Probe);

    private enum Mode { Off, Injection, Library }

    public static bool IsAvailable => s_mode.Value != Mode.Off;

    /// <summary>Why ranges are off, for the one line the tool prints; null when they are on.</summary>
    public static string? OffReason { get; private set; }

    /// <summary>"NVTX 3 injection" or "libnvToolsExt.so.1"; null when off.</summary>
    public static string? Source => s_mode.Value switch { Mode.Injection => "NVTX 3 injection (" + NvtxInjection.PathVariable + ")", Mode.Library => Library, _ => null };

    public static void Push(string name)
    {
        switch (s_mode.Value)
        {
            case Mode.Injection: NvtxInjection.Push(name); break;
            case Mode.Library: _ = nvtxRangePushA(name); break;
        }
    }

    public static void Pop()
    {
        switch (s_mode.Value)
        {
            case Mode.Injection: NvtxInjection.Pop(); break;
            case Mode.Library: _ = nvtxRangePop(); break;
        }
    }

    private static Mode Probe()
    {
        var injection = NvtxInjection.InstallFromEnvironment();
        if (injection is null)
        {
            if (NvtxInjection.HasRanges) return Mode.Injection;
            injection = "the attached tool takes no push/pop ranges";
        }
        if (NativeLibrary.TryLoad(Library, typeof(Nvtx).Assembly, null, out var handle)
            && NativeLibrary.TryGetExport(handle, "nvtxRangePushA", out _) && NativeLibrary.TryGetExport(handle, "nvtxRangePop", out _))
            return Mode.Library;
        OffReason = $"{injection}, and no {Library}";
        return Mode.Off;
    }

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int nvtxRangePushA(string message);

    [LibraryImport(Library)]
    private static partial int nvtxRangePop();
}
