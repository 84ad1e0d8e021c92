using ConvNeXtSample.Model;
using Fusion;
using ResNetSample.Model;

namespace Fusion.ConvNets.Tests;

/// <summary>
/// The full models declare exactly the state dicts of torchvision's resnet50 and timm's convnext_tiny, key by key (their
/// order differs from the declaration order; loading is by name), so the published weights load strictly.
/// </summary>
public sealed class ModelStructureTests
{
    [Fact]
    public void ResNet50_ParameterKeysAndShapesAreTorchvisions()
    {
        var expected = new Dictionary<string, int[]> { ["conv1.weight"] = [64, 3, 7, 7], ["fc.weight"] = [1000, 2048], ["fc.bias"] = [1000] };
        AddBatchNorm(expected, "bn1", 64);
        int[] blocks = [3, 4, 6, 3], widths = [64, 128, 256, 512];
        int inChannels = 64;
        for (int stage = 0; stage < 4; stage++)
        {
            int width = widths[stage], outChannels = 4 * width;
            for (int i = 0; i < blocks[stage]; i++)
            {
                string block = $"layer{stage + 1}.{i}.";
                expected[block + "conv1.weight"] = [width, inChannels, 1, 1];
                expected[block + "conv2.weight"] = [width, width, 3, 3];
                expected[block + "conv3.weight"] = [outChannels, width, 1, 1];
                AddBatchNorm(expected, block + "bn1", width);
                AddBatchNorm(expected, block + "bn2", width);
                AddBatchNorm(expected, block + "bn3", outChannels);
                if (i == 0) // every stage's first block projects: the channels change (and stages 2–4 stride)
                {
                    expected[block + "downsample.0.weight"] = [outChannels, inChannels, 1, 1];
                    AddBatchNorm(expected, block + "downsample.1", outChannels);
                }
                inChannels = outChannels;
            }
        }

        AssertParameters(expected, ResNet50.Info);
        // torchvision's count for resnet50 (25,557,032 parameters) plus the 53,120 running means and variances, which are
        // buffers in PyTorch and parameters (loaded by key) here.
        Assert.Equal(25_557_032 + 53_120, ResNet50.Info.ParameterCount);
    }

    [Fact]
    public void ConvNeXtTiny_ParameterKeysAndShapesAreTimms()
    {
        var expected = new Dictionary<string, int[]>
        {
            ["stem.0.weight"] = [96, 3, 4, 4],
            ["stem.0.bias"] = [96],
            ["stem.1.weight"] = [96],
            ["stem.1.bias"] = [96],
            ["head.norm.weight"] = [768],
            ["head.norm.bias"] = [768],
            ["head.fc.weight"] = [1000, 768],
            ["head.fc.bias"] = [1000],
        };
        int[] depths = [3, 3, 9, 3], dims = [96, 192, 384, 768];
        for (int stage = 0; stage < 4; stage++)
        {
            int dim = dims[stage];
            if (stage > 0) // stage 0 keeps the stem's width and resolution: no downsample, no keys
            {
                string downsample = $"stages.{stage}.downsample.";
                expected[downsample + "0.weight"] = [dims[stage - 1]];
                expected[downsample + "0.bias"] = [dims[stage - 1]];
                expected[downsample + "1.weight"] = [dim, dims[stage - 1], 2, 2];
                expected[downsample + "1.bias"] = [dim];
            }
            for (int i = 0; i < depths[stage]; i++)
            {
                string block = $"stages.{stage}.blocks.{i}.";
                expected[block + "gamma"] = [dim];
                expected[block + "conv_dw.weight"] = [dim, 1, 7, 7];
                expected[block + "conv_dw.bias"] = [dim];
                expected[block + "norm.weight"] = [dim];
                expected[block + "norm.bias"] = [dim];
                expected[block + "mlp.fc1.weight"] = [4 * dim, dim];
                expected[block + "mlp.fc1.bias"] = [4 * dim];
                expected[block + "mlp.fc2.weight"] = [dim, 4 * dim];
                expected[block + "mlp.fc2.bias"] = [dim];
            }
        }

        AssertParameters(expected, ConvNeXtTiny.Info);
        Assert.Equal(28_589_128, ConvNeXtTiny.Info.ParameterCount); // timm's count for convnext_tiny
    }

    private static void AddBatchNorm(Dictionary<string, int[]> keys, string name, int channels)
    {
        foreach (var tensor in new[] { "weight", "bias", "running_mean", "running_var" }) keys[$"{name}.{tensor}"] = [channels];
    }

    private static void AssertParameters(Dictionary<string, int[]> expected, ModelInfo info)
    {
        var actual = info.Parameters;
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.All(actual, p => Assert.Equal(expected[p.Key], p.Shape));
        Assert.Equal([Dim.Batch, 3, 224, 224], Assert.Single(info.Inputs).Dims);
    }
}
