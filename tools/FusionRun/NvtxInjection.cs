using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fusion.Run;

/// <summary>
/// The client half of NVTX 3's tool-injection protocol, which CUDA 13's header-only NVTX implements in every program that
/// uses it. A tool (Nsight Systems, Nsight Compute) starts the program with NVTX_INJECTION64_PATH naming its library; the
/// client loads it and calls its <c>InitializeInjectionNvtx2(getExportTable)</c>. Through the export table the tool asks
/// for each module's function table (an array of pointers to the client's function-pointer slots) and writes its handlers
/// into the slots it implements; the client then calls RangePushA and RangePop through those slots. Slots left empty are
/// skipped. Only the CORE module's push and pop are used here; every module gets a table (all empty), as tools ask for them.
/// </summary>
internal static unsafe class NvtxInjection
{
    public const string PathVariable = "NVTX_INJECTION64_PATH";
    private const uint ExportTableCallbacks = 1, ExportTableVersionInfo = 3, NvtxVersion = 3;
    private const int CoreRangePushA = 9, CoreRangePop = 11;

    /// <summary>Module id (1-based: CORE, CUDA, OPENCL, CUDART, CORE2, SYNC) → its number of callback ids (id 0 unused).</summary>
    private static readonly int[] s_moduleSizes = [0, 16, 9, 15, 7, 16, 7];

    private static nint* s_tables;   // per module: size + 1 pointers, entry id → slot id (ids 1 … size − 1), entries 0 and size null
    private static nint* s_slots;    // per module: size function-pointer slots, slot id for callback id (slot 0 unused)
    private static nint* s_callbacks;   // { size_t struct_size; GetModuleFunctionTable }
    private static nint* s_versionInfo; // { size_t struct_size; uint32 version; uint32 reserved; SetInjectionNvtxVersion }
    private static int[] s_tableOffsets = [];
    private static int[] s_slotOffsets = [];

    /// <summary>Runs <paramref name="initialize"/> (a tool's InitializeInjectionNvtx2) against this process's tables; true when it accepted.</summary>
    public static bool Install(delegate* unmanaged[Cdecl]<delegate* unmanaged[Cdecl]<uint, void*>, int> initialize)
    {
        Allocate();
        return initialize(&GetExportTable) != 0;
    }

    /// <summary>Loads the library named by NVTX_INJECTION64_PATH and installs it; null when done, else why not.</summary>
    public static string? InstallFromEnvironment()
    {
        var path = Environment.GetEnvironmentVariable(PathVariable);
        if (string.IsNullOrEmpty(path)) return $"no profiler attached ({PathVariable} is not set; Nsight sets it)";
        if (!NativeLibrary.TryLoad(path, out var library)) return $"{PathVariable}={path} could not be loaded";
        if (!NativeLibrary.TryGetExport(library, "InitializeInjectionNvtx2", out var entry))
            return $"{PathVariable}={path} has no InitializeInjectionNvtx2";
        return Install((delegate* unmanaged[Cdecl]<delegate* unmanaged[Cdecl]<uint, void*>, int>)entry) ? null
            : $"the tool in {PathVariable}={path} declined to initialize";
    }

    /// <summary>Whether the tool handles push and pop.</summary>
    public static bool HasRanges => s_slots is not null && Slot(1, CoreRangePushA) != 0 && Slot(1, CoreRangePop) != 0;

    public static void Push(string name)
    {
        nint handler = Slot(1, CoreRangePushA);
        if (handler == 0) return;
        int bytes = System.Text.Encoding.UTF8.GetMaxByteCount(name.Length) + 1;
        byte* text = stackalloc byte[Math.Min(bytes, 1024)];
        int written = System.Text.Encoding.UTF8.GetBytes(name.AsSpan(0, Math.Min(name.Length, 255)), new Span<byte>(text, Math.Min(bytes, 1024) - 1));
        text[written] = 0;
        _ = ((delegate* unmanaged[Cdecl]<byte*, int>)handler)(text);
    }

    public static void Pop()
    {
        nint handler = Slot(1, CoreRangePop);
        if (handler != 0) _ = ((delegate* unmanaged[Cdecl]<int>)handler)();
    }

    private static nint Slot(int module, int id) => s_slots is null ? 0 : Volatile.Read(ref s_slots[s_slotOffsets[module] + id]);

    /// <summary>Native memory for the tables (never freed: a tool may keep their addresses for the life of the process).</summary>
    private static void Allocate()
    {
        if (s_tables is not null) return;
        int slots = 0, pointers = 0;
        s_tableOffsets = new int[s_moduleSizes.Length];
        s_slotOffsets = new int[s_moduleSizes.Length];
        for (int m = 1; m < s_moduleSizes.Length; m++)
        {
            s_tableOffsets[m] = pointers;
            s_slotOffsets[m] = slots;
            pointers += s_moduleSizes[m] + 1;
            slots += s_moduleSizes[m];
        }
        s_slots = (nint*)NativeMemory.AllocZeroed((nuint)slots, (nuint)sizeof(nint));
        s_tables = (nint*)NativeMemory.AllocZeroed((nuint)pointers, (nuint)sizeof(nint));
        for (int m = 1; m < s_moduleSizes.Length; m++)
            for (int id = 1; id < s_moduleSizes[m]; id++)
                s_tables[s_tableOffsets[m] + id] = (nint)(&s_slots[s_slotOffsets[m] + id]);
        s_callbacks = (nint*)NativeMemory.AllocZeroed(2, (nuint)sizeof(nint));
        s_callbacks[0] = 2 * sizeof(nint);
        s_callbacks[1] = (nint)(delegate* unmanaged[Cdecl]<int, nint**, uint*, int>)&GetModuleFunctionTable;
        s_versionInfo = (nint*)NativeMemory.AllocZeroed(3, (nuint)sizeof(nint));
        s_versionInfo[0] = 3 * sizeof(nint);
        ((uint*)&s_versionInfo[1])[0] = NvtxVersion;
        s_versionInfo[2] = (nint)(delegate* unmanaged[Cdecl]<uint, void>)&SetInjectionNvtxVersion;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void* GetExportTable(uint id) => id switch
    {
        ExportTableCallbacks => s_callbacks,
        ExportTableVersionInfo => s_versionInfo,
        _ => null,
    };

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int GetModuleFunctionTable(int module, nint** table, uint* size)
    {
        if (module < 1 || module >= s_moduleSizes.Length) return 0;
        if (size is not null) *size = (uint)s_moduleSizes[module];
        if (table is not null) *table = &s_tables[s_tableOffsets[module]];
        return 1;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void SetInjectionNvtxVersion(uint version)
    {
        _ = version; // reserved by NVTX for tools to report their version; nothing to do
    }
}
