using Fusion.Kernels;

namespace Fusion.Cuda.Tests;

/// <summary>The JIT's cache with real NVRTC output: hit, miss, corrupt and unloadable entries, and concurrent compiles.</summary>
public sealed class KernelJitCacheTests : GpuTestBase
{
    private static readonly string Source = KernelSources.Get("elementwise_half2.cu");

    private KernelJit FreshJit(List<string>? warnings = null) => new(Device, new KernelCache(CacheDirectory, m => warnings?.Add(m)));

    [Fact]
    public void MissThenHitAcrossInstances()
    {
        using (FreshJit().Load("ew", Source) is var m1 ? m1 : null) { }
        var jit = FreshJit();
        using var m2 = jit.Load("ew", Source);
        Assert.Equal(KernelCacheOutcome.Hit, jit.LastOutcome);
        m2.GetKernel("fusion_fma_relu_half2");
    }

    /// <summary>
    /// Precompile fills the cache in parallel (every GEMM tile included) so the loads after it are hits; the overload with options per
    /// kernel does the same for a generated kernel's io variants (one cache entry each); a broken source fails with NVRTC's own error.
    /// </summary>
    [Fact]
    public void PrecompileMakesLaterLoadsCacheHits()
    {
        var jit = FreshJit();
        var gemm = GemmKernels.Linear(96, 96, bias: true, Activation.Gelu, residual: false);
        var sources = Cuda.Gemm.GemmTile.Candidates(96).Select(t => ($"{gemm.Name}_t{t}", t.Specialize(gemm.CudaSource, 96))).Append(("ew", Source)).ToList();
        jit.Precompile(sources);
        foreach (var (name, source) in sources)
        {
            jit.Load(name, source).Dispose();
            Assert.Equal(KernelCacheOutcome.Hit, jit.LastOutcome);
        }

        var io = GeneratedKernelCatalog.Cases["add_layer_norm_io"].Kernel;
        var variants = Cuda.Generated.GeneratedKernelLauncher.Variants(io).ToList();
        Assert.Equal(2, variants.Count);
        Assert.NotEqual(jit.CacheKey(io.CudaSource, variants[0].Options), jit.CacheKey(io.CudaSource, variants[1].Options));
        jit.Precompile(variants);
        foreach (var (name, source, options) in variants)
        {
            jit.Load(name, source, options).Dispose();
            Assert.Equal(KernelCacheOutcome.Hit, jit.LastOutcome);
        }

        var e = Assert.Throws<NvrtcCompileException>(() => jit.Precompile([("broken", "extern \"C\" __global__ void broken() { int x = ; }")]));
        Assert.Contains("broken", e.Message);
    }

    [Fact]
    public void OptionsChangeTheKey()
    {
        var jit = FreshJit();
        jit.Load("ew", Source).Dispose();
        jit.Load("ew", Source, ["-DFUSION_VARIANT=1"]).Dispose();
        Assert.Equal(KernelCacheOutcome.Miss, jit.LastOutcome);
    }

    [Fact]
    public void CorruptEntryIsRebuilt()
    {
        var jit = FreshJit();
        jit.Load("ew", Source).Dispose();
        var path = jit.Cache.PathFor("ew", jit.CacheKey(Source, []));
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
        var warnings = new List<string>();
        var again = FreshJit(warnings);
        using var module = again.Load("ew", Source);
        Assert.Equal(KernelCacheOutcome.Rebuilt, again.LastOutcome);
        Assert.Contains(warnings, w => w.Contains("checksum"));
        module.GetKernel("fusion_axpy_half2");
    }

    [Fact]
    public void UnloadableEntryWithValidChecksumIsRebuilt()
    {
        var warnings = new List<string>();
        var jit = FreshJit(warnings);
        var key = jit.CacheKey(Source, []);
        jit.Cache.GetOrAdd("ew", key, () => "this is not a CUBIN"u8.ToArray(), out _); // checksum-valid garbage
        using var module = jit.Load("ew", Source);
        Assert.Equal(KernelCacheOutcome.Rebuilt, jit.LastOutcome);
        Assert.Contains(warnings, w => w.Contains("unloadable"));
        var next = FreshJit();
        next.Load("ew", Source).Dispose();
        Assert.Equal(KernelCacheOutcome.Hit, next.LastOutcome);
    }

    [Fact]
    public void ConcurrentCompilesOfOneKernelBothSucceed()
    {
        var modules = new CudaModule[4];
        Parallel.For(0, modules.Length, i => modules[i] = FreshJit().Load("ew_concurrent", Source));
        foreach (var m in modules)
        {
            m.GetKernel("fusion_fma_relu_half2");
            m.Dispose();
        }
        Assert.Single(Directory.GetFiles(CacheDirectory, "ew_concurrent-*"));
    }
}
