using System.Text;
using Fusion.IO;
using static Fusion.Runtime.Tests.IO.RawSafetensors;

namespace Fusion.Runtime.Tests.IO;

/// <summary>Each rule of the safetensors format, broken by its own file: the error names the file, the tensor and the rule.</summary>
public sealed class SafetensorsValidationTests : TempDirectoryTest
{
    private WeightFileException Reject(byte[] bytes, string? tensor, params string[] rule)
    {
        var path = Dir.Write("bad.safetensors", bytes);
        var e = Assert.Throws<WeightFileException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.Path);
        Assert.Equal(tensor, e.Tensor);
        if (tensor is not null) Assert.Contains($"tensor '{tensor}'", e.Message, StringComparison.Ordinal);
        foreach (var r in rule) Assert.Contains(r, e.Message, StringComparison.Ordinal);
        return e;
    }

    private WeightFileException Reject(string header, int dataLength, string? tensor, params string[] rule) =>
        Reject(Build(header, dataLength), tensor, rule);

    [Fact]
    public void AFileShorterThanTheLengthPrefix() => Reject([1, 0, 0], null, "3 bytes, shorter than the 8-byte header length");

    [Fact]
    public void ATextFile() => Reject(Encoding.ASCII.GetBytes("hello world, this is not a tensor file\n"), null, "exceeds the limit");

    [Fact]
    public void HeaderLengthBeyondTheFile() => Reject(Build(1000, "{}"u8.ToArray(), []), null, "header length 1000 runs past the end of the file (10 bytes)");

    [Fact]
    public void HeaderLengthOverTheCap() => Reject(Build(200_000_000, "{}"u8.ToArray(), []), null, "header length 200000000 exceeds the limit of 100000000 bytes");

    [Fact]
    public void HeaderThatIsNotUtf8() => Reject(Build([(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)'}'], []), null, "not valid UTF-8");

    [Fact]
    public void HeaderThatIsNotJson() => Reject("{\"a\": ", 0, null, "not valid JSON");

    [Fact]
    public void HeaderThatIsNotAnObject() => Reject("[1, 2]", 0, null, "must be a JSON object");

    [Fact]
    public void HeaderNestedTooDeeply() => Reject("{\"a\": {\"shape\": [[[1]]]}}", 0, null, "not valid JSON");

    [Fact]
    public void DuplicateNames()
    {
        var entry = Entry("w", "F32", "[1]", 0, 4);
        Reject("{" + entry + ", " + entry.Replace("[0, 4]", "[4, 8]", StringComparison.Ordinal) + "}", 8, "w", "appears more than once");
        // The same name spelled with an escape is still the same name.
        Reject("{" + entry + ", " + Entry("\\u0077", "F32", "[1]", 4, 8) + "}", 8, "w", "appears more than once");
    }

    [Fact]
    public void UnknownDType() => Reject("{" + Entry("w", "F33", "[1]", 0, 4) + "}", 4, "w", "unknown dtype 'F33'");

    [Fact]
    public void LowerCaseDTypeIsUnknown() => Reject("{" + Entry("w", "f32", "[1]", 0, 4) + "}", 4, "w", "unknown dtype 'f32'");

    [Fact]
    public void NegativeDimension() => Reject("{" + Entry("w", "F32", "[2, -1]", 0, 4) + "}", 4, "w", "shape dimension 1 is negative (-1)");

    [Fact]
    public void FractionalDimension() => Reject("{" + Entry("w", "F32", "[1.5]", 0, 4) + "}", 4, "w", "shape dimension 0 must be an integer, found 1.5");

    [Fact]
    public void ShapeWhoseProductOverflows() =>
        Reject("{" + Entry("w", "F32", "[2147483647, 2147483647, 2147483647]", 0, 4) + "}", 4, "w", "more elements than fit in 64 bits");

    [Fact]
    public void ShapeWhoseByteCountOverflows() =>
        Reject("{" + Entry("w", "F64", "[2147483647, 2147483647, 1]", 0, 4) + "}", 4, "w", "more bytes than fit in 64 bits");

    [Fact]
    public void ShapeThatIsNotAList() => Reject("{" + Entry("w", "F32", "4", 0, 4) + "}", 4, "w", "shape must be a list");

    [Fact]
    public void MissingField() => Reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, "w", "missing field 'data_offsets'");

    [Fact]
    public void UnknownField() => Reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4], \"x\": 1}}", 4, "w", "unknown field 'x'");

    [Fact]
    public void NegativeOffset() => Reject("{" + Entry("w", "F32", "[1]", -4, 0) + "}", 4, "w", "data_offsets begin is negative (-4)");

    [Fact]
    public void BeginAfterEnd() => Reject("{" + Entry("w", "F32", "[1]", 8, 4) + "}", 8, "w", "begin 8 is after end 4");

    [Fact]
    public void OffsetsThatAreNotTwoIntegers() => Reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", 4, "w", "data_offsets must be a list of two integers");

    [Fact]
    public void ByteCountThatDoesNotMatchTheShape() =>
        Reject("{" + Entry("w", "F16", "[3]", 0, 4) + "}", 4, "w", "hold 4 bytes but shape [3] of F16 needs 6");

    [Fact]
    public void OverlappingOffsets() =>
        Reject("{" + Entry("a", "F32", "[2]", 0, 8) + ", " + Entry("b", "F32", "[2]", 4, 12) + "}", 12, "b", "overlap the previous tensor, which ends at 8");

    [Fact]
    public void AGapBetweenTensors() =>
        Reject("{" + Entry("a", "F32", "[1]", 0, 4) + ", " + Entry("b", "F32", "[1]", 8, 12) + "}", 12, "b", "leave a gap: the previous tensor ends at 4");

    [Fact]
    public void DataNotStartingAtZero() => Reject("{" + Entry("a", "F32", "[1]", 4, 8) + "}", 8, "a", "leave a gap");

    [Fact]
    public void DataLeftOverAfterTheLastTensor() =>
        Reject("{" + Entry("a", "F32", "[1]", 0, 4) + "}", 6, "a", "tensors cover 4 bytes of data but the data section holds 6");

    [Fact]
    public void TensorRunningPastTheEndOfTheFile() =>
        Reject("{" + Entry("a", "F32", "[4]", 0, 16) + "}", 6, "a", "tensors cover 16 bytes of data but the data section holds 6");

    [Fact]
    public void MetadataThatIsNotStrings() => Reject("{\"__metadata__\": {\"epoch\": 3}}", 0, null, "__metadata__ entry 'epoch' must be a string");

    [Fact]
    public void OrderInTheHeaderDoesNotMatterOnlyTheOffsets()
    {
        var path = Dir.Write("ok.safetensors", Build("{" + Entry("b", "F32", "[1]", 4, 8) + ", " + Entry("a", "F32", "[1]", 0, 4) + ", " + Entry("e", "F32", "[0]", 8, 8) + "}   ", 8));
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["b", "a", "e"], file.Tensors.Select(t => t.Name));
        Assert.Empty(file.ReadFloat32("e"));
    }

    [Fact]
    public void AMissingFileNamesThePath()
    {
        var path = Dir.File("absent.safetensors");
        var e = Assert.Throws<WeightFileException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot open the file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownTensorNameNamesTheFile()
    {
        var path = Dir.Write("ok.safetensors", Build("{" + Entry("a", "F32", "[1]", 0, 4) + "}", 4));
        using var file = SafetensorsFile.Open(path);
        var e = Assert.Throws<WeightFileException>(() => file.ReadFloat32("b"));
        Assert.Equal($"{path}: tensor 'b': no such tensor in the file", e.Message);
    }
}
