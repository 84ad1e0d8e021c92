using System.Globalization;

namespace Fusion;

/// <summary>
/// What <see cref="CudaBackend.Precompile"/> did: how many kernel variants it compiled or found in the cache through NVRTC, and
/// how many ILGPU versions it compiled (ILGPU to PTX, the driver's linker to CUBIN) or found and loaded, with the wall time of each
/// part. Where a cold start goes.
/// </summary>
public sealed record PrecompileSummary(int NvrtcVariants, TimeSpan Nvrtc, int IlgpuVariants, TimeSpan Ilgpu)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"NVRTC {NvrtcVariants} variants in {Nvrtc.TotalSeconds:F2} s")
        + (IlgpuVariants > 0 ? string.Create(CultureInfo.InvariantCulture, $", ILGPU {IlgpuVariants} variants in {Ilgpu.TotalSeconds:F2} s (compiled or cached, and loaded)") : "")
        + " (in parallel)";
}
