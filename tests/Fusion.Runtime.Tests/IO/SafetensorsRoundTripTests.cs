using Fusion.IO;

namespace Fusion.Runtime.Tests.IO;

/// <summary>Writer → reader: names, dtypes, shapes, metadata and values survive, in F32, F16 and BF16.</summary>
public sealed class SafetensorsRoundTripTests : TempDirectoryTest
{
    private static float[] RandomValues(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 8 - 4);
        return values;
    }

    [Theory]
    [InlineData(SafetensorsDType.F32, 0.0)]
    [InlineData(SafetensorsDType.F16, 1.0 / 1024)]
    [InlineData(SafetensorsDType.BF16, 1.0 / 128)]
    public void FloatTensorsRoundTrip(SafetensorsDType dtype, double relativeTolerance)
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        int[][] shapes = [[], [0], [1], [7], [3, 5], [2, 0, 4], [1, 1, 13], [2, 3, 5, 7], [70000]];
        var values = shapes.Select(s => RandomValues(random, (int)new Shape(s).ElementCount)).ToArray();
        var path = Dir.File("round.safetensors");
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "é ünïcode \"quoted\"" };
        SafetensorsWriter.Write(path, shapes.Select((s, i) => SafetensorsEntry.FromFloat32($"t{i}.weight", values[i], s, dtype)), metadata);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(metadata, file.Metadata);
        Assert.Equal(shapes.Length, file.Tensors.Count);
        for (int i = 0; i < shapes.Length; i++)
        {
            var info = file.Tensors[i];
            Assert.Equal($"t{i}.weight", info.Name);
            Assert.Equal(dtype, info.DType);
            Assert.Equal(new Shape(shapes[i]), info.Shape);
            var read = file.ReadFloat32(info.Name);
            Assert.Equal(values[i].Length, read.Length);
            for (int j = 0; j < read.Length; j++)
                Assert.True(Math.Abs(read[j] - values[i][j]) <= relativeTolerance * Math.Abs(values[i][j]) + 1e-7, // absolute part: f16 subnormals near 0
                    $"seed {seed}: {info.Name}[{j}] = {read[j]}, wrote {values[i][j]}");
        }
    }

    [Fact]
    public void ReducedPrecisionIsRoundedToNearest()
    {
        var path = Dir.File("round.safetensors");
        // 1 + 2^-8 is halfway between two bf16 values: ties go to even (1.0); 1 + 3·2^-9 rounds up.
        float[] values = [1f + 1f / 256, 1f + 3f / 512, float.NaN, float.NegativeInfinity, 65504f];
        SafetensorsWriter.Write(path, [
            SafetensorsEntry.FromFloat32("bf", values, [5], SafetensorsDType.BF16),
            SafetensorsEntry.FromFloat32("h", values, [5], SafetensorsDType.F16),
        ]);
        using var file = SafetensorsFile.Open(path);
        var bf = file.ReadFloat32("bf");
        Assert.Equal([1f, 1f + 1f / 128, float.NaN, float.NegativeInfinity, 65536f], bf);
        var h = file.ReadFloat32("h");
        Assert.Equal([(float)(Half)values[0], (float)(Half)values[1], float.NaN, float.NegativeInfinity, 65504f], h);
    }

    [Fact]
    public void IntegerTensorsKeepTheirBytes()
    {
        using var ints = CpuTensor.Zeros(DType.Int32, 2, 3);
        ints.Span<int>()[4] = -123456;
        var path = Dir.File("ints.safetensors");
        SafetensorsWriter.Write(path, [SafetensorsEntry.FromTensor("idx", ints)]);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(SafetensorsDType.I32, file["idx"].DType);
        Assert.Equal(ints.Bytes.ToArray(), file.ReadBytes("idx"));
        var e = Assert.Throws<WeightFileException>(() => file.ReadFloat32("idx"));
        Assert.Contains("'idx'", e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot be converted to float32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HeaderIsPaddedSoDataIsAligned()
    {
        var path = Dir.File("aligned.safetensors");
        SafetensorsWriter.Write(path, [SafetensorsEntry.FromFloat32("x", [1f, 2f, 3f], [3], SafetensorsDType.F32)]);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(0UL, BitConverter.ToUInt64(bytes) % 8);
        Assert.Equal(8 + (int)BitConverter.ToUInt64(bytes) + 12, bytes.Length);
    }

    [Fact]
    public void WriterRefusesToOverwriteWhenAskedAndLeavesTheFile()
    {
        var path = Dir.File("keep.safetensors");
        SafetensorsWriter.Write(path, [SafetensorsEntry.FromFloat32("x", [1f], [1], SafetensorsDType.F32)]);
        var before = File.ReadAllBytes(path);
        var e = Assert.Throws<WeightFileException>(() =>
            SafetensorsWriter.Write(path, [SafetensorsEntry.FromFloat32("y", [2f], [1], SafetensorsDType.F32)], overwrite: false));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(Dir.Path)); // no temporary file left behind
    }

    [Fact]
    public void ConvertingAFileInPlaceReplacesItAtomically()
    {
        var path = Dir.File("model.safetensors");
        SafetensorsWriter.Write(path, [SafetensorsEntry.FromFloat32("w", [0.5f, -2f], [2], SafetensorsDType.F32)]);
        using (var input = SafetensorsFile.Open(path))
        {
            var entries = input.Tensors.Select(t => SafetensorsEntry.FromFloat32(t.Name, input.ReadFloat32(t.Name), t.Shape.ToArray(), SafetensorsDType.F16)).ToList();
            SafetensorsWriter.Write(path, entries);
        }
        using var output = SafetensorsFile.Open(path);
        Assert.Equal(SafetensorsDType.F16, output["w"].DType);
        Assert.Equal([0.5f, -2f], output.ReadFloat32("w"));
    }

    [Fact]
    public void WriterRejectsDataOfTheWrongSizeAndDuplicateNames()
    {
        var path = Dir.File("bad.safetensors");
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new SafetensorsEntry("x", SafetensorsDType.F32, [2], new byte[7])]));
        var one = SafetensorsEntry.FromFloat32("x", [1f], [1], SafetensorsDType.F32);
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [one, one]));
        Assert.False(File.Exists(path));
    }
}
