using Fusion.Quantization;
using Fusion.Runtime.Tests.IO;

namespace Fusion.Runtime.Tests.Quantization;

/// <summary>A scale file round-trips, and is refused by name when it belongs to another model or weight file, or breaks its format.</summary>
public sealed class ScaleFileTests : TempDirectoryTest
{
    private const string Hash = "3f2a";

    private static ScaleFile Sample() => new("SwinTiny", Hash, CalibrationMethod.Entropy, 99.99,
        new Dictionary<string, double> { ["layers.0.blocks.0.attn.qkv.input"] = 4.25, ["head.fc.input"] = 11.5 });

    [Fact]
    public void RoundTrips()
    {
        var path = Dir.File("swin.scales.json");
        Sample().Save(path);
        var loaded = ScaleFile.Load(path, "SwinTiny", Hash);
        Assert.Equal(CalibrationMethod.Entropy, loaded.Method);
        Assert.Equal(99.99, loaded.Percentile);
        Assert.Equal(4.25, loaded.ThresholdOf("layers.0.blocks.0.attn.qkv.input"));
        Assert.Equal(11.5, loaded.ThresholdOf("head.fc.input"));
        Assert.Contains("nope", Assert.Throws<FusionException>(() => loaded.ThresholdOf("nope")).Message);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
    }

    [Fact]
    public void AnotherModelOrWeightFileIsRefusedByName()
    {
        var path = Dir.File("swin.scales.json");
        Sample().Save(path);
        var model = Assert.Throws<ScaleFileException>(() => ScaleFile.Load(path, "ViT", Hash));
        Assert.Contains("'SwinTiny', not 'ViT'", model.Message);
        var weights = Assert.Throws<ScaleFileException>(() => ScaleFile.Load(path, "SwinTiny", "9c01"));
        Assert.Contains("calibrate again", weights.Message);
        Assert.Equal(path, weights.Path);
    }

    [Theory]
    [InlineData("not json at all", "does not parse")]
    [InlineData("[1, 2]", "not a JSON object")]
    [InlineData("{\"format\": \"other\"}", "format 'other'")]
    [InlineData("{\"format\": \"fusion-int8-scales\", \"version\": 7}", "version 7")]
    [InlineData("{\"format\": \"fusion-int8-scales\", \"version\": 1, \"model\": \"SwinTiny\"}", "'weights_sha256' is missing")]
    [InlineData("{\"format\": \"fusion-int8-scales\", \"version\": 1, \"model\": \"SwinTiny\", \"weights_sha256\": \"3f2a\", \"method\": \"median\", \"percentile\": 1, \"thresholds\": {}}", "method 'median'")]
    [InlineData("{\"format\": \"fusion-int8-scales\", \"version\": 1, \"model\": \"SwinTiny\", \"weights_sha256\": \"3f2a\", \"method\": \"max\", \"percentile\": 1, \"thresholds\": {\"x\": -1}}", "tensor 'x'")]
    public void BrokenFilesNameTheRule(string text, string rule)
    {
        var path = Dir.File("broken.json");
        File.WriteAllText(path, text);
        var e = Assert.Throws<ScaleFileException>(() => ScaleFile.Load(path, "SwinTiny", Hash));
        Assert.Contains(rule, e.Message);
        Assert.StartsWith(path, e.Message);
    }

    [Fact]
    public void TheHashIsTheWeightFilesSha256()
    {
        var path = Dir.File("w.bin");
        File.WriteAllBytes(path, "abc"u8.ToArray());
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ScaleFile.HashOf(path));
    }
}
