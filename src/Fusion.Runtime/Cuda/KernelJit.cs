using Fusion.Cuda.Native;
using Fusion.Kernels;

namespace Fusion.Cuda;

/// <summary>
/// Compiles CUDA C to CUBIN for one device through NVRTC and the on-disk <see cref="KernelCache"/>,
/// and loads it. A cached entry the driver refuses to load is deleted, recompiled and replaced.
/// </summary>
public sealed class KernelJit
{
    private readonly CudaDevice _device;

    public KernelJit(CudaDevice device, KernelCache cache)
    {
        _device = device;
        Cache = cache;
    }

    public KernelCache Cache { get; }

    /// <summary>How the last <see cref="Load"/> got its binary.</summary>
    public KernelCacheOutcome LastOutcome { get; private set; }

    /// <summary>Compiles (or fetches) and loads <paramref name="source"/>; <paramref name="name"/> names it in errors and cache files.</summary>
    public CudaModule Load(string name, string source, IReadOnlyList<string>? options = null)
    {
        var opts = options ?? [];
        var key = CacheKey(source, opts);
        byte[] Build() => Nvrtc.CompileCubin(name, source, _device.Architecture, opts);
        var image = Cache.GetOrAdd(name, key, Build, out var outcome);
        LastOutcome = outcome;
        try
        {
            return CudaModule.Load(_device, image);
        }
        catch (CudaException e) when (outcome == KernelCacheOutcome.Hit && IsBadImage(e))
        {
            var rebuilt = Build();
            LastOutcome = Cache.Replace(name, key, $"unloadable ({e.ErrorName})", rebuilt);
            return CudaModule.Load(_device, rebuilt);
        }
    }

    /// <summary>Loads one of the .cu files shipped in Fusion.Kernels, e.g. "bias_residual_half2.cu".</summary>
    public CudaModule LoadShipped(string fileName) => Load(Path.GetFileNameWithoutExtension(fileName), KernelSources.Get(fileName));

    /// <summary>Everything that changes the binary: source, shipped headers, options, architecture, NVRTC version.</summary>
    public string CacheKey(string source, IReadOnlyList<string> options)
    {
        var headers = string.Join("\n", KernelSources.Headers.Select(h => h.Key + "\n" + h.Value));
        return KernelCache.Key(source, headers, string.Join(" ", Nvrtc.StandardOptions.Concat(options)), _device.Architecture, $"nvrtc {Nvrtc.Version}", "cubin");
    }

    private static bool IsBadImage(CudaException e) => (CuResult)e.Code is CuResult.InvalidImage or CuResult.NoBinaryForGpu
        or CuResult.InvalidPtx or CuResult.UnsupportedPtxVersion or CuResult.InvalidSource;
}
