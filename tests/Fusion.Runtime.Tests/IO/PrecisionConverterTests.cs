using Fusion.IO;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.IO;

/// <summary>FP32 → FP16 conversion of weight files: round trips, keep-list, padding with logical shapes, refusals.</summary>
public sealed class PrecisionConverterTests : TempDirectoryTest
{
    /// <summary>A TinyLoadModel with random values written as an FP32 file; returns the model for comparison.</summary>
    private TinyLoadModel WriteFloat32(string path, int seed)
    {
        var model = new TinyLoadModel();
        var random = new Random(seed);
        foreach (var (_, p) in model.NamedParameters()) p.InitUniform(random, 1f);
        SafetensorsWriter.Write(path, model.NamedParameters().Select(p => SafetensorsEntry.FromParameter(p.Key, p.Parameter)), new Dictionary<string, string> { ["source"] = "test" });
        return model;
    }

    [Fact]
    public void ConvertedFile_LoadsBack_RoundedToFp16_AndIsSmaller()
    {
        var input = Dir.File("model.safetensors");
        var output = Dir.File("model-f16.safetensors");
        var original = WriteFloat32(input, TestData.NewSeed());

        // No padding here: on a model this small, padding [4, 6] to [8, 8] costs more than fp16 saves.
        var report = PrecisionConverter.ToFloat16(input, output, new PrecisionConversionOptions { PadGemmWeights = false });
        Assert.Equal(4, report.Converted.Count);
        Assert.Empty(report.Padded);
        Assert.True(report.OutputBytes > 0 && report.InputBytes > 0);
        // The tensor data halves exactly; the header (with the conversion's metadata) may grow on a model this small.
        long DataBytes(string path)
        {
            using var f = SafetensorsFile.Open(path);
            return f.Tensors.Sum(t => t.ByteCount);
        }
        Assert.Equal(DataBytes(input) / 2, DataBytes(output));

        var loaded = new TinyLoadModel();
        var load = loaded.LoadWeights(output);
        Assert.All(load.Loaded, l => Assert.Equal(SafetensorsDType.F16, l.StoredAs));
        Assert.Equal("f16", load.Metadata["fusion.precision"]);
        Assert.Equal("test", load.Metadata["source"]); // the input's metadata is kept
        foreach (var ((key, expected), (_, actual)) in original.NamedParameters().Zip(loaded.NamedParameters()))
        {
            var want = expected.Value.ToFloatArray().Select(v => (float)(Half)v).ToArray();
            Assert.True(want.SequenceEqual(actual.Value.ToFloatArray()), $"{key} is not the fp16 rounding of the original");
        }
    }

    [Fact]
    public void GemmWeights_ArePaddedToMultiplesOf8_AndCroppedOnLoad()
    {
        var input = Dir.File("model.safetensors");
        var output = Dir.File("padded.safetensors");
        var original = WriteFloat32(input, TestData.NewSeed());

        var report = PrecisionConverter.ToFloat16(input, output);
        Assert.Equal([4, 6], report.Padded["fc.weight"]); // [4, 6] is stored as [8, 8]
        using (var file = SafetensorsFile.Open(output))
        {
            Assert.Equal(new Shape(8, 8), file["fc.weight"].Shape);
            var stored = file.ReadFloat32("fc.weight");
            for (int r = 0; r < 8; r++)
            for (int c = 0; c < 8; c++)
                if (r >= 4 || c >= 6) Assert.Equal(0f, stored[r * 8 + c]);
        }
        var loaded = new TinyLoadModel();
        loaded.LoadWeights(output);
        var want = original.fc.weight.Value.ToFloatArray().Select(v => (float)(Half)v);
        Assert.Equal(want, loaded.fc.weight.Value.ToFloatArray());
    }

    [Fact]
    public void KeepList_StaysFp32_Exactly()
    {
        var input = Dir.File("model.safetensors");
        var output = Dir.File("mixed.safetensors");
        var original = WriteFloat32(input, TestData.NewSeed());

        var report = PrecisionConverter.ToFloat16(input, output, new PrecisionConversionOptions { KeepFloat32 = ["norm.*"] });
        Assert.Equal(["norm.weight", "norm.bias"], report.KeptFloat32);
        var loaded = new TinyLoadModel();
        var load = loaded.LoadWeights(output);
        Assert.Equal(SafetensorsDType.F32, load.Loaded.Single(l => l.Key == "norm.weight").StoredAs);
        Assert.Equal(SafetensorsDType.F16, load.Loaded.Single(l => l.Key == "fc.bias").StoredAs);
        Assert.Equal(original.norm.weight.Value.ToFloatArray(), loaded.norm.weight.Value.ToFloatArray());
        Assert.Equal("norm.weight,norm.bias", load.Metadata["fusion.keep_f32"]);
    }

    [Fact]
    public void Refuses_ToOverwriteItsInput_OrAnExistingFile()
    {
        var input = Dir.File("model.safetensors");
        WriteFloat32(input, 1);
        var before = File.ReadAllBytes(input);
        var e = Assert.Throws<WeightFileException>(() => PrecisionConverter.ToFloat16(input, input));
        Assert.Contains("refusing to write the converted file over its input", e.Message);
        Assert.Equal(before, File.ReadAllBytes(input));

        var output = Dir.File("out.safetensors");
        File.WriteAllText(output, "keep me");
        Assert.Throws<WeightFileException>(() => PrecisionConverter.ToFloat16(input, output));
        Assert.Equal("keep me", File.ReadAllText(output));
        PrecisionConverter.ToFloat16(input, output, new PrecisionConversionOptions { Overwrite = true });
        Assert.NotEqual("keep me", File.ReadAllText(output));
    }

    [Fact]
    public void AlreadyFp16_IsAClearError()
    {
        var input = Dir.File("model.safetensors");
        var once = Dir.File("once.safetensors");
        WriteFloat32(input, 2);
        PrecisionConverter.ToFloat16(input, once);
        var e = Assert.Throws<WeightFileException>(() => PrecisionConverter.ToFloat16(once, Dir.File("twice.safetensors")));
        Assert.Contains("already FP16", e.Message);
        Assert.Contains("once.safetensors", e.Message);
    }

    [Fact]
    public void MalformedInput_IsRejectedAsTheLoaderWould()
    {
        var input = Dir.File("model.safetensors");
        WriteFloat32(input, 3);
        var bytes = File.ReadAllBytes(input);
        var truncated = Dir.File("truncated.safetensors");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length - 5)]);
        var e = Assert.Throws<WeightFileException>(() => PrecisionConverter.ToFloat16(truncated, Dir.File("out.safetensors")));
        Assert.Contains("truncated.safetensors", e.Message);
        Assert.False(File.Exists(Dir.File("out.safetensors")));
    }

    [Fact]
    public void KeepListEntry_ThatMatchesNothing_IsAnError()
    {
        var input = Dir.File("model.safetensors");
        WriteFloat32(input, 4);
        var e = Assert.Throws<WeightFileException>(() =>
            PrecisionConverter.ToFloat16(input, Dir.File("out.safetensors"), new PrecisionConversionOptions { KeepFloat32 = ["head.*"] }));
        Assert.Contains("keep-list entry 'head.*' matches no tensor", e.Message);
    }
}
