using Fusion;
using Fusion.Testing;

namespace Fusion.ConvNets.Tests;

/// <summary>
/// The samples' ResNet and ConvNeXt, compiled by the generator at their mini sizes and run on the CPU backend in FP32,
/// against the independent float64 references on fresh random weights and inputs.
/// </summary>
public sealed class MiniReferenceTests
{
    // FP32 against float64: sums of at most 288 products per convolution or Linear output, through 6 blocks (ConvNeXt) or
    // 19 convolutions (ResNet) whose norms keep values of order 1: errors of order 1e-6 on logits of order 1 (measured:
    // at most 8e-7). 1e-4 + 1e-3·|b| leaves room for the summation orders without hiding a padding, stride, group or
    // layout mistake, which would be of the order of the logits.
    private const double Atol = 1e-4, Rtol = 1e-3;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ResNetMini_Fp32OnCpu_MatchesFloat64Reference(int batch)
    {
        int seed = TestData.NewSeed();
        var model = new ResNetMini();
        ResNetSample.RandomWeights.Initialize(model, seed);
        var image = TestImages.Random(seed + 1, batch, ResNetMini.ImageSize);

        using var input = image.ToCpu();
        using var logits = model.Run(input);

        var expected = ResNetReference.Forward(image, new ReferenceWeights(model));
        Assert.Equal([batch, ResNetMini.Classes], expected.Shape);
        AssertSpread(expected, seed);
        Tolerance.AssertClose(logits, expected, Atol, Rtol, $"ResNetMini logits, batch {batch} (seed {seed})");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ConvNeXtMini_Fp32OnCpu_MatchesFloat64Reference(int batch)
    {
        int seed = TestData.NewSeed();
        var model = new ConvNeXtMini();
        ConvNeXtSample.RandomWeights.Initialize(model, seed);
        var image = TestImages.Random(seed + 1, batch, ConvNeXtMini.ImageSize);

        using var input = image.ToCpu();
        using var logits = model.Run(input);

        var expected = ConvNeXtReference.Forward(image, new ReferenceWeights(model));
        Assert.Equal([batch, ConvNeXtMini.Classes], expected.Shape);
        AssertSpread(expected, seed);
        Tolerance.AssertClose(logits, expected, Atol, Rtol, $"ConvNeXtMini logits, batch {batch} (seed {seed})");
    }

    /// <summary>Logits that differ between classes and images, so that a match says something.</summary>
    private static void AssertSpread(RefTensor logits, int seed)
    {
        double mean = logits.Data.Average();
        double deviation = Math.Sqrt(logits.Data.Average(v => (v - mean) * (v - mean)));
        Assert.True(deviation > 0.1, $"reference logits nearly constant: standard deviation {deviation:G3} (seed {seed})");
    }
}
