using Fusion.IO;

namespace Fusion.Runtime.Tests.IO;

/// <summary>Loading safetensors into a compiled model: every key present with its exact shape, extras reported, nothing changed on failure.</summary>
public sealed class WeightLoaderTests : TempDirectoryTest
{
    /// <summary>Distinct values per key, so a swapped or misplaced tensor shows.</summary>
    private static float[] ValuesFor(string key, long count) =>
        Enumerable.Range(0, (int)count).Select(i => (key.Length * 0.25f) + (i * 0.5f) - 3f).ToArray();

    private static List<SafetensorsEntry> EntriesFor(IFusedModel model, SafetensorsDType dtype) =>
        model.Info.Parameters.Select(p => SafetensorsEntry.FromFloat32(p.Key, ValuesFor(p.Key, p.ElementCount), p.Shape, dtype)).ToList();

    private string WriteFile(IEnumerable<SafetensorsEntry> entries)
    {
        var path = Dir.File($"{Guid.NewGuid():N}.safetensors");
        SafetensorsWriter.Write(path, entries, new Dictionary<string, string> { ["format"] = "pt" });
        return path;
    }

    private static Dictionary<string, float[]> Snapshot(IFusedModel model) =>
        model.NamedParameters().ToDictionary(p => p.Key, p => p.Parameter.Value.ToFloatArray());

    [Theory]
    [InlineData(SafetensorsDType.F32)]
    [InlineData(SafetensorsDType.F16)]
    [InlineData(SafetensorsDType.BF16)]
    public void LoadsEveryParameterConvertingToFloat32(SafetensorsDType dtype)
    {
        var model = new TinyLoadModel();
        Assert.Equal(["fc.weight", "fc.bias", "norm.weight", "norm.bias"], model.NamedParameters().Select(p => p.Key));
        var path = WriteFile(EntriesFor(model, dtype));
        var versions = model.NamedParameters().Select(p => p.Parameter.Version).ToList();

        var report = model.LoadWeights(path);

        Assert.Equal(path, report.Path);
        Assert.Empty(report.Unexpected);
        Assert.Equal("pt", report.Metadata["format"]);
        Assert.All(report.Loaded, l => Assert.Equal(dtype, l.StoredAs));
        foreach (var (key, parameter) in model.NamedParameters())
            Assert.Equal(ValuesFor(key, parameter.Shape.ElementCount), parameter.Value.ToFloatArray()); // exact in all three formats
        Assert.Equal(versions.Select(v => v + 1), model.NamedParameters().Select(p => p.Parameter.Version));
    }

    [Fact]
    public void LoadedWeightsAreWhatTheCompiledModelComputesWith()
    {
        var model = new TinyLoadModel();
        var entries = EntriesFor(model, SafetensorsDType.F32);
        // Zero weight, known bias, identity norm: the output is the normalized bias.
        entries[0] = SafetensorsEntry.FromFloat32("fc.weight", new float[24], [4, 6], SafetensorsDType.F32);
        entries[1] = SafetensorsEntry.FromFloat32("fc.bias", [1f, 2f, 3f, 4f], [4], SafetensorsDType.F32);
        entries[2] = SafetensorsEntry.FromFloat32("norm.weight", [1f, 1f, 1f, 1f], [4], SafetensorsDType.F32);
        entries[3] = SafetensorsEntry.FromFloat32("norm.bias", [0f, 0f, 0f, 10f], [4], SafetensorsDType.F32);
        model.LoadWeights(WriteFile(entries));
        using var x = CpuTensor.FromArray(new float[12], 2, 6);
        using var y = (CpuTensor)((IFusedModel)model).Run(new Tensor[] { x });
        var expected = new[] { -3f, -1f, 1f, 3f }.Select(v => v / MathF.Sqrt(5f + 1e-5f)).ToArray();
        var output = y.ToFloatArray();
        for (int i = 0; i < 8; i++) Assert.Equal(expected[i % 4] + (i % 4 == 3 ? 10f : 0f), output[i], 4);
    }

    private void AssertRejectedUntouched(TinyLoadModel model, string path, WeightLoadOptions? options, string? tensor, params string[] fragments)
    {
        var before = Snapshot(model);
        var e = Assert.Throws<WeightFileException>(() => model.LoadWeights(path, options));
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Equal(tensor, e.Tensor);
        foreach (var f in fragments) Assert.Contains(f, e.Message, StringComparison.Ordinal);
        var after = Snapshot(model);
        foreach (var (key, values) in before) Assert.Equal(values, after[key]);
    }

    [Fact]
    public void AMissingKeyIsNamedWithItsShape()
    {
        var model = new TinyLoadModel();
        var path = WriteFile(EntriesFor(model, SafetensorsDType.F32).Where(e => e.Name != "norm.bias"));
        AssertRejectedUntouched(model, path, null, "norm.bias", "tensor 'norm.bias': missing: the model expects [4]");
    }

    [Fact]
    public void AWrongShapeNamesTheKeyAndBothShapes()
    {
        var model = new TinyLoadModel();
        var entries = EntriesFor(model, SafetensorsDType.F32);
        entries[0] = SafetensorsEntry.FromFloat32("fc.weight", new float[24], [6, 4], SafetensorsDType.F32);
        AssertRejectedUntouched(model, WriteFile(entries), null, "fc.weight", "tensor 'fc.weight': shape [6, 4] does not match the model's [4, 6]");
    }

    [Fact]
    public void AnIntegerTensorForAParameterIsRejected()
    {
        var model = new TinyLoadModel();
        var entries = EntriesFor(model, SafetensorsDType.F32);
        entries[1] = new SafetensorsEntry("fc.bias", SafetensorsDType.I32, [4], new byte[16]);
        AssertRejectedUntouched(model, WriteFile(entries), null, "fc.bias", "dtype I32 cannot be loaded into a float32 parameter");
    }

    [Fact]
    public void UnexpectedTensorsAreAnErrorByDefaultAndReportedWhenAllowed()
    {
        var model = new TinyLoadModel();
        var entries = EntriesFor(model, SafetensorsDType.F32);
        entries.Add(new SafetensorsEntry("blocks.0.attn.relative_position_index", SafetensorsDType.I64, [49, 49], new byte[49 * 49 * 8]));
        entries.Add(SafetensorsEntry.FromFloat32("head.weight", new float[2], [2], SafetensorsDType.F32));
        var path = WriteFile(entries);
        AssertRejectedUntouched(model, path, null, null,
            "unexpected: model 'TinyLoadModel' has no parameter named 'blocks.0.attn.relative_position_index', 'head.weight'", "IgnoreUnexpected");

        var report = model.LoadWeights(path, WeightLoadOptions.IgnoreUnexpected);
        Assert.Equal(["blocks.0.attn.relative_position_index", "head.weight"], report.Unexpected);
        Assert.Equal(4, report.Loaded.Count);
        Assert.Equal(ValuesFor("fc.bias", 4), model.fc.bias!.Value.ToFloatArray());
    }

    [Fact]
    public void EveryProblemIsListedAtOnce()
    {
        var model = new TinyLoadModel();
        var entries = EntriesFor(model, SafetensorsDType.F16).Where(e => e.Name != "fc.bias").ToList();
        entries[0] = SafetensorsEntry.FromFloat32("fc.weight", new float[20], [4, 5], SafetensorsDType.F16);
        entries.Add(SafetensorsEntry.FromFloat32("extra", [1f], [1], SafetensorsDType.F16));
        AssertRejectedUntouched(model, WriteFile(entries), null, null,
            "3 problems loading into model 'TinyLoadModel'",
            "'fc.weight': shape [4, 5] does not match the model's [4, 6]",
            "'fc.bias': missing: the model expects [4]",
            "'extra'");
    }

    [Fact]
    public void AMalformedFileChangesNothing()
    {
        var model = new TinyLoadModel();
        var path = WriteFile(EntriesFor(model, SafetensorsDType.F32));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^1]);
        AssertRejectedUntouched(model, path, null, "norm.bias", "data section holds");
    }
}
