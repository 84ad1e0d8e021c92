using Fusion;
using Fusion.Testing;
using ViT;
using ViT.Model;

namespace Fusion.ViT.Tests;

/// <summary>
/// The sample's ViT, compiled by the generator and run on the CPU backend in FP32, against the independent float64
/// reference on fresh random weights and inputs.
/// </summary>
public sealed class ViTReferenceTests
{
    // FP32 against float64: dot products of at most 256 terms, a 17- or 37-wide softmax, one or two blocks: errors of
    // order 1e-6 on logits of order 1. 1e-4 + 1e-3·|b| leaves room for the summation orders without hiding an indexing
    // or layout mistake, which would be of the order of the logits.
    private const double Atol = 1e-4, Rtol = 1e-3;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Mini_Fp32OnCpu_MatchesFloat64Reference(int batch)
    {
        int seed = TestData.NewSeed();
        var model = new ViTMini();
        RandomWeights.Initialize(model, seed);
        var image = TestData.Random(seed + 1, batch, 3, ViTMini.ImageSize, ViTMini.ImageSize);

        using var input = image.ToCpu();
        using var logits = model.Run(input);

        var expected = ViTReference.Forward(image, ViTReference.Weights(model), ViTMini.Patch, ViTMini.Depth, ViTMini.Heads);
        Assert.Equal([batch, ViTMini.Classes], expected.Shape);
        AssertSpread(expected, seed);
        Tolerance.AssertClose(logits, expected, Atol, Rtol, $"ViTMini logits, batch {batch} (seed {seed})");
    }

    [Fact]
    public void OddSizes_Fp32OnCpu_MatchFloat64Reference()
    {
        int seed = TestData.NewSeed();
        var model = new OddViT();
        RandomWeights.Initialize(model, seed);
        var image = TestData.Random(seed + 1, 2, 3, OddViT.ImageSize, OddViT.ImageSize);

        using var input = image.ToCpu();
        using var logits = model.Run(input);

        var expected = ViTReference.Forward(image, ViTReference.Weights(model), OddViT.Patch, OddViT.Depth, OddViT.Heads);
        AssertSpread(expected, seed);
        Tolerance.AssertClose(logits, expected, Atol, Rtol, $"OddViT logits (seed {seed})");
    }

    [Fact]
    public void CompiledRun_MatchesEagerForward()
    {
        // The same Forward body run eagerly, op by op (class token expanded and concatenated by the eager operators), and
        // through the generated plan: the same function in float32, so they agree to rounding.
        int seed = TestData.NewSeed();
        var model = new ViTMini();
        RandomWeights.Initialize(model, seed);
        using var input = TestData.Random(seed + 1, 2, 3, ViTMini.ImageSize, ViTMini.ImageSize).ToCpu();

        using var compiled = model.Run(input);
        using var eager = model.Forward(input);
        Tolerance.AssertClose(compiled, RefTensor.FromCpu((CpuTensor)eager), 1e-5, 1e-5, $"compiled vs eager (seed {seed})");
    }

    [Fact]
    public void VitB16_ParameterKeysAndShapesAreTimms()
    {
        // timm's vit_base_patch16_224 state dict, key by key (its order differs from the declaration order; loading is by name).
        var expected = new Dictionary<string, int[]>
        {
            ["cls_token"] = [1, 1, 768],
            ["pos_embed"] = [1, 197, 768],
            ["patch_embed.proj.weight"] = [768, 3, 16, 16],
            ["patch_embed.proj.bias"] = [768],
            ["norm.weight"] = [768],
            ["norm.bias"] = [768],
            ["head.weight"] = [1000, 768],
            ["head.bias"] = [1000],
        };
        for (int i = 0; i < 12; i++)
        {
            string block = $"blocks.{i}.";
            foreach (var norm in new[] { "norm1", "norm2" })
            {
                expected[block + norm + ".weight"] = [768];
                expected[block + norm + ".bias"] = [768];
            }
            expected[block + "attn.qkv.weight"] = [2304, 768];
            expected[block + "attn.qkv.bias"] = [2304];
            expected[block + "attn.proj.weight"] = [768, 768];
            expected[block + "attn.proj.bias"] = [768];
            expected[block + "mlp.fc1.weight"] = [3072, 768];
            expected[block + "mlp.fc1.bias"] = [3072];
            expected[block + "mlp.fc2.weight"] = [768, 3072];
            expected[block + "mlp.fc2.bias"] = [768];
        }

        var actual = VisionTransformerBase16.Info.Parameters;
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.All(actual, p => Assert.Equal(expected[p.Key], p.Shape));
        Assert.Equal(86_567_656, VisionTransformerBase16.Info.ParameterCount); // timm's count for vit_base_patch16_224
        Assert.Equal([Dim.Batch, 3, 224, 224], Assert.Single(VisionTransformerBase16.Info.Inputs).Dims);
    }

    /// <summary>Logits that differ between classes and images, so that a match says something.</summary>
    private static void AssertSpread(RefTensor logits, int seed)
    {
        double mean = logits.Data.Average();
        double deviation = Math.Sqrt(logits.Data.Average(v => (v - mean) * (v - mean)));
        Assert.True(deviation > 0.1, $"reference logits nearly constant: standard deviation {deviation:G3} (seed {seed})");
    }
}
