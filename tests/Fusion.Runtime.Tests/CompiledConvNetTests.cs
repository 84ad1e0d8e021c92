using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// <see cref="SmallConvNet"/> compiled against its eager Forward on the CPU (float32, batches 1 and 3): both compute the graph the
/// descriptors build, the compiled one fused and scheduled, so they differ in summation order only: 1e-4 absolute and relative.
/// Random weights in ±1/√fan-in, batch-norm statistics away from 0 and 1 so the normalization matters.
/// </summary>
public sealed class CompiledConvNetTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void CompiledConvNetMatchesTheEagerForward(int batch)
    {
        int seed = TestData.NewSeed();
        var model = new SmallConvNet();
        ConvNetWeights.Initialize(model, seed);
        using var input = TestData.Random(seed + 1, batch, 3, 17, 15).ToCpu();
        using var compiled = model.Run(input);
        using var eager = model.Forward(input);
        Assert.Equal(new Shape(batch, 10), compiled.Shape);
        Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), 1e-4, 1e-4, $"compiled vs eager conv net, batch {batch} (seed {seed})");
    }

    /// <summary>
    /// The convolutions of one group are GEMMs of (N, K) = (out, k²·in): stem (12, 27), the 1×1 and the shortcut (20, 12), beside
    /// the head (10, 20); the depthwise (k² = 25 taps) and grouped (9·5 = 45) ones are generated reductions, not GEMMs.
    /// </summary>
    [Fact]
    public void OneGroupConvolutionsAreGemms()
    {
        var shapes = SmallConvNet.Kernels.OfType<GemmKernel>().Select(k => (k.N, k.K)).Distinct().OrderBy(s => s).ToList();
        Assert.Equal(new[] { (10, 20), (12, 27), (20, 12) }, shapes);
    }
}
