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

    [Fact]
    public void UnknownNameListsKnownOnes()
    {
        var e = Assert.Throws<KeyNotFoundException>(() => KernelSources.Get("nope.cu"));
        Assert.Contains("prelude.cuh", e.Message);
    }
}
