using Fusion.Cuda;
using Fusion.Cuda.Native;

namespace Fusion.Devices;

/// <summary>Whether CUDA can run here: libcuda, a device, NVRTC and cuBLASLt; if not, why not.</summary>
public readonly record struct CudaAvailability(bool IsAvailable, string Reason)
{
    /// <summary>Probes the machine without throwing.</summary>
    public static CudaAvailability Probe()
    {
        try
        {
            int count = CudaDevice.Count();
            if (count == 0) return new(false, "the CUDA driver reports no device");
            foreach (var lib in new[] { CudaLibraryResolver.Nvrtc, CudaLibraryResolver.CublasLt })
            {
                if (!CudaLibraryResolver.TryLoad(lib, out _, out var tried))
                    return new(false, $"lib{lib} was not found (tried {string.Join(", ", tried)})");
            }
            using var device = CudaDevice.Open(0);
            return new(true, $"found {device} with NVRTC {Nvrtc.Version}");
        }
        catch (FusionException e)
        {
            return new(false, e.Message);
        }
    }
}
