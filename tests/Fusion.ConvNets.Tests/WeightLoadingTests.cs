using Fusion;
using Fusion.IO;
using Fusion.Testing;

namespace Fusion.ConvNets.Tests;

/// <summary>
/// State dicts shaped like torchvision's and timm's load into the mini models by name; a bad one is refused naming the
/// tensor, the model left as it was (the mechanism is covered in Fusion.Runtime.Tests; here, the convolution and
/// batch-norm parameters these models add).
/// </summary>
public sealed class WeightLoadingTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("fusion-convnets-tests-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public void ResNetMini_AStateDictWithEveryKeyLoadsByName()
    {
        var entries = StateDict(ResNetMini.Info, TestData.NewSeed(), out var values);
        var model = new ResNetMini();

        var report = model.LoadWeights(Write(entries));

        Assert.Equal(entries.Count, report.Loaded.Count);
        foreach (var (key, parameter) in model.NamedParameters())
            Assert.Equal(values[key], parameter.Value.ToFloatArray());
    }

    [Fact]
    public void ConvNeXtMini_AStateDictWithEveryKeyLoadsByName()
    {
        var entries = StateDict(ConvNeXtMini.Info, TestData.NewSeed(), out var values);
        var model = new ConvNeXtMini();

        var report = model.LoadWeights(Write(entries));

        Assert.Equal(entries.Count, report.Loaded.Count);
        foreach (var (key, parameter) in model.NamedParameters())
            Assert.Equal(values[key], parameter.Value.ToFloatArray());
    }

    [Fact]
    public void ResNetMini_AConvolutionWeightOfTheWrongShapeIsRefusedByName()
    {
        // A 1×1 kernel where the model's 3×3 convolution (layer2.0.conv2: 16 → 16 channels) expects 3×3.
        const string key = "layer2.0.conv2.weight";
        var entries = StateDict(ResNetMini.Info, TestData.NewSeed(), out _);
        entries[entries.FindIndex(e => e.Name == key)] = SafetensorsEntry.FromFloat32(key, new float[16 * 16], [16, 16, 1, 1], SafetensorsDType.F32);
        var path = Write(entries);
        var model = new ResNetMini();
        var before = model.model.layer2[0].conv2.weight.Value.ToFloatArray();

        var e = Assert.Throws<WeightFileException>(() => model.LoadWeights(path));

        Assert.Equal(key, e.Tensor);
        Assert.Contains($"tensor '{key}': shape [16, 16, 1, 1] does not match the model's [16, 16, 3, 3]", e.Message);
        Assert.Equal(before, model.model.layer2[0].conv2.weight.Value.ToFloatArray());
    }

    [Fact]
    public void ConvNeXtMini_ADenseWeightForADepthwiseConvolutionIsRefusedByName()
    {
        // [24, 24, 7, 7]: a dense 7×7 convolution's weight where the depthwise one (groups = 24) has one input channel per output.
        const string key = "stages.0.blocks.0.conv_dw.weight";
        var entries = StateDict(ConvNeXtMini.Info, TestData.NewSeed(), out _);
        entries[entries.FindIndex(e => e.Name == key)] = SafetensorsEntry.FromFloat32(key, new float[24 * 24 * 49], [24, 24, 7, 7], SafetensorsDType.F32);

        var e = Assert.Throws<WeightFileException>(() => new ConvNeXtMini().LoadWeights(Write(entries)));

        Assert.Equal(key, e.Tensor);
        Assert.Contains($"tensor '{key}': shape [24, 24, 7, 7] does not match the model's [24, 1, 7, 7]", e.Message);
    }

    [Fact]
    public void ResNetMini_AMissingRunningVarianceIsNamed()
    {
        const string key = "layer1.0.downsample.1.running_var";
        var entries = StateDict(ResNetMini.Info, TestData.NewSeed(), out _).Where(e => e.Name != key).ToList();

        var e = Assert.Throws<WeightFileException>(() => new ResNetMini().LoadWeights(Write(entries)));

        Assert.Equal(key, e.Tensor);
        Assert.Contains($"tensor '{key}': missing: the model expects [32]", e.Message);
    }

    [Fact]
    public void ResNetMini_TorchvisionsBatchCountersAreRefusedStrictlyAndIgnoredOnRequest()
    {
        // A state dict saved straight from torchvision carries each BatchNorm2d's num_batches_tracked, an int64 scalar that
        // only training reads: a strict load names them, IgnoreUnexpected (the sample's and fusion-run's mode) skips them.
        var entries = StateDict(ResNetMini.Info, TestData.NewSeed(), out var values);
        var counters = ResNetMini.Info.Parameters.Select(p => p.Key).Where(k => k.EndsWith(".running_var", StringComparison.Ordinal))
            .Select(k => k[..^"running_var".Length] + "num_batches_tracked").ToList();
        entries.AddRange(counters.Select(name => new SafetensorsEntry(name, SafetensorsDType.I64, [], BitConverter.GetBytes(100L))));
        var path = Write(entries);

        var e = Assert.Throws<WeightFileException>(() => new ResNetMini().LoadWeights(path));
        Assert.Contains("bn1.num_batches_tracked", e.Message);

        var model = new ResNetMini();
        var report = model.LoadWeights(path, WeightLoadOptions.IgnoreUnexpected);
        Assert.Equal(ResNetMini.Info.Parameters.Count, report.Loaded.Count);
        Assert.Equal(counters.Order(StringComparer.Ordinal), report.Unexpected.Order(StringComparer.Ordinal));
        foreach (var (key, parameter) in model.NamedParameters())
            Assert.Equal(values[key], parameter.Value.ToFloatArray());
    }

    /// <summary>Every parameter of a model under its key, as FP32 random values (returned by key).</summary>
    private static List<SafetensorsEntry> StateDict(ModelInfo info, int seed, out Dictionary<string, float[]> values)
    {
        var random = new Random(seed);
        values = [];
        var entries = new List<SafetensorsEntry>();
        foreach (var p in info.Parameters)
        {
            var data = new float[p.ElementCount];
            for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
            values[p.Key] = data;
            entries.Add(SafetensorsEntry.FromFloat32(p.Key, data, p.Shape, SafetensorsDType.F32));
        }
        return entries;
    }

    private string Write(IEnumerable<SafetensorsEntry> entries)
    {
        var path = Path.Combine(_folder.FullName, $"{Guid.NewGuid():N}.safetensors");
        SafetensorsWriter.Write(path, entries, new Dictionary<string, string> { ["format"] = "pt" });
        return path;
    }
}
