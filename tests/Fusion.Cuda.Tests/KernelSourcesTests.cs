using Fusion.Kernels;

namespace Fusion.Cuda.Tests;

public sealed class KernelSourcesTests
{
    [Fact]
    public void ShipsThePreludeAndKernels()
    {
        Assert.Contains("prelude.cuh", KernelSources.Headers.Keys);
        Assert.Contains("bias_residual_half2.cu", KernelSources.Kernels.Keys);
        Assert.Contains("elementwise_half2.cu", KernelSources.Kernels.Keys);
        Assert.DoesNotContain("prelude.cuh", KernelSources.Kernels.Keys);
        Assert.Equal(KernelSources.All.Count, KernelSources.Headers.Count + KernelSources.Kernels.Count);
    }

    [Fact]
    public void KernelsAreHeaderFreeApartFromThePrelude()
    {
        foreach (var (name, text) in KernelSources.Kernels)
        {
            var includes = text.Split('\n').Where(l => l.TrimStart().StartsWith("#include", StringComparison.Ordinal)).ToList();
            Assert.True(includes.All(i => i.Contains("\"prelude.cuh\"")), $"{name} includes something besides the prelude: {string.Join("; ", includes)}");
        }
    }

    /// <summary>
    /// The headers' hash, part of every NVRTC cache key and fast-run choice key, follows each header's text and name: a choice measured
    /// with an older generated.cuh is not reused (it was, when the keys hashed the kernel's source alone).
    /// </summary>
    [Fact]
    public void TheHeadersKeyChangesWithAnyHeader()
    {
        var headers = KernelSources.Headers.ToDictionary(h => h.Key, h => h.Value);
        Assert.Equal(KernelJit.HeadersKey, KernelJit.HeadersKeyOf(headers));
        Assert.Equal(KernelJit.HeadersKey, KernelJit.HeadersKeyOf(headers.Reverse()));
        foreach (var name in headers.Keys)
        {
            var edited = new Dictionary<string, string>(headers) { [name] = headers[name] + "\n// edited" };
            Assert.NotEqual(KernelJit.HeadersKey, KernelJit.HeadersKeyOf(edited));
            var renamed = headers.Where(h => h.Key != name).Append(new(name + ".old", headers[name]));
            Assert.NotEqual(KernelJit.HeadersKey, KernelJit.HeadersKeyOf(renamed));
        }
    }

    [Fact]
    public void UnknownNameListsKnownOnes()
    {
        var e = Assert.Throws<KeyNotFoundException>(() => KernelSources.Get("nope.cu"));
        Assert.Contains("prelude.cuh", e.Message);
    }
}
