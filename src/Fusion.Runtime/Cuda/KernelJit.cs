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

    /// <summary>The device this JIT compiles for.</summary>
    internal CudaDevice Device => _device;

    /// <summary>How the last <see cref="Load"/> got its binary.</summary>
    public KernelCacheOutcome LastOutcome { get; private set; }

    /// <summary>
    /// Compiles (or fetches) and loads <paramref name="source"/>; <paramref name="name"/> names it in errors and cache files.
    /// <paramref name="architecture"/> replaces the device's (sm_90) with an architecture-specific one its code needs (sm_90a: wgmma).
    /// </summary>
    public CudaModule Load(string name, string source, IReadOnlyList<string>? options = null, string? architecture = null)
    {
        var opts = options ?? [];
        var arch = architecture ?? _device.Architecture;
        var key = CacheKey(source, opts, arch);
        var (module, outcome) = LoadCached(name, key, () => Nvrtc.CompileCubin(name, source, arch, opts), ProgrammaticLaunch.IsDeclaredBy(source));
        LastOutcome = outcome;
        return module;
    }

    /// <summary>
    /// The image cached under (<paramref name="name"/>, <paramref name="key"/>), built by <paramref name="build"/> when missing, loaded
    /// into the device's context; a cached image the driver refuses is rebuilt and replaced. Also returns how the cache served it.
    /// <paramref name="awaitsPreviousGrid"/>: whether its source waits for the previous grid first (<see cref="ProgrammaticLaunch"/>).
    /// </summary>
    internal (CudaModule Module, KernelCacheOutcome Outcome) LoadCached(string name, string key, Func<byte[]> build, bool awaitsPreviousGrid = false)
    {
        var image = Cache.GetOrAdd(name, key, build, out var outcome);
        try
        {
            return (CudaModule.Load(_device, image, awaitsPreviousGrid), outcome);
        }
        catch (CudaException e) when (outcome == KernelCacheOutcome.Hit && IsBadImage(e))
        {
            var rebuilt = build();
            var replaced = Cache.Replace(name, key, $"unloadable ({e.ErrorName})", rebuilt);
            return (CudaModule.Load(_device, rebuilt, awaitsPreviousGrid), replaced);
        }
    }

    /// <summary>
    /// Compiles <paramref name="kernels"/> into the disk cache in parallel, loading nothing, so the <see cref="Load"/> calls that
    /// follow are cache hits: NVRTC needs no context and runs on any thread, while a model's first pass would otherwise compile
    /// its kernels one after another. Already cached sources cost a file check. Without a writable cache this only warms nothing.
    /// </summary>
    public void Precompile(IReadOnlyCollection<(string Name, string Source)> kernels, IReadOnlyList<string>? options = null) =>
        Precompile(kernels.Select(k => (k.Name, k.Source, options ?? (IReadOnlyList<string>)[])).ToList());

    /// <summary>The same, each kernel with its own NVRTC options (the io-type variants of a generated kernel).</summary>
    public void Precompile(IReadOnlyCollection<(string Name, string Source, IReadOnlyList<string> Options)> kernels) =>
        Precompile(kernels.Select(k => (k.Name, k.Source, k.Options, (string?)null)).ToList());

    /// <summary>The same, each kernel with its own architecture where it needs one (null: the device's).</summary>
    public void Precompile(IReadOnlyCollection<(string Name, string Source, IReadOnlyList<string> Options, string? Architecture)> kernels)
    {
        ParallelCompile.ForEach(kernels, kernel =>
        {
            var arch = kernel.Architecture ?? _device.Architecture;
            Cache.GetOrAdd(kernel.Name, CacheKey(kernel.Source, kernel.Options, arch), () => Nvrtc.CompileCubin(kernel.Name, kernel.Source, arch, kernel.Options), out _);
        });
    }

    /// <summary>Loads one of the .cu files shipped in Fusion.Kernels, e.g. "bias_residual_half2.cu".</summary>
    public CudaModule LoadShipped(string fileName) => Load(Path.GetFileNameWithoutExtension(fileName), KernelSources.Get(fileName));

    /// <summary>Everything that changes the binary: source, shipped headers, options, architecture, NVRTC version.</summary>
    public string CacheKey(string source, IReadOnlyList<string> options, string? architecture = null) =>
        KernelCache.Key(source, HeadersKey, string.Join(" ", Nvrtc.StandardOptions.Concat(options)), architecture ?? _device.Architecture, $"nvrtc {Nvrtc.Version}", "cubin");

    /// <summary>
    /// A hash of every shipped header (generated.cuh, the prelude, …) by name and text: kernels include them, so a cache entry or a
    /// fast-run choice keyed by a kernel's source alone would outlive a change to one of them.
    /// </summary>
    public static string HeadersKey => s_headersKey.Value;

    private static readonly Lazy<string> s_headersKey = new(() => HeadersKeyOf(KernelSources.Headers));

    /// <summary>The hash <see cref="HeadersKey"/> is of the shipped headers, for any set of (name, text) pairs.</summary>
    public static string HeadersKeyOf(IEnumerable<KeyValuePair<string, string>> headers) =>
        KernelCache.Key(headers.OrderBy(h => h.Key, StringComparer.Ordinal).SelectMany(h => new[] { h.Key, h.Value }).ToArray());

    private static bool IsBadImage(CudaException e) => (CuResult)e.Code is CuResult.InvalidImage or CuResult.NoBinaryForGpu
        or CuResult.InvalidPtx or CuResult.UnsupportedPtxVersion or CuResult.InvalidSource;
}
