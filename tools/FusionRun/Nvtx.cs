using System.Runtime.InteropServices;

namespace Fusion.Run;

/// <summary>
/// NVTX ranges (nvtxRangePushA / nvtxRangePop from libnvToolsExt.so.1) so Nsight shows each fused op by name. CUDA 13
/// ships NVTX as headers only, so the library is often absent: then <see cref="IsAvailable"/> is false and ranges are off.
/// </summary>
internal static partial class Nvtx
{
    private const string Library = "libnvToolsExt.so.1";

    private static readonly Lazy<bool> s_available = new(Probe);

    public static bool IsAvailable => s_available.Value;

    /// <summary>Why ranges are off, for the one line the tool prints; null when they are on.</summary>
    public static string? OffReason { get; private set; }

    public static void Push(string name)
    {
        if (IsAvailable) _ = nvtxRangePushA(name);
    }

    public static void Pop()
    {
        if (IsAvailable) _ = nvtxRangePop();
    }

    private static bool Probe()
    {
        if (!NativeLibrary.TryLoad(Library, typeof(Nvtx).Assembly, null, out var handle))
        {
            OffReason = $"{Library} not found (CUDA 13 ships NVTX as headers only)";
            return false;
        }
        bool ok = NativeLibrary.TryGetExport(handle, "nvtxRangePushA", out _) && NativeLibrary.TryGetExport(handle, "nvtxRangePop", out _);
        if (!ok) OffReason = $"{Library} has no nvtxRangePushA/nvtxRangePop";
        return ok;
    }

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int nvtxRangePushA(string message);

    [LibraryImport(Library)]
    private static partial int nvtxRangePop();
}
