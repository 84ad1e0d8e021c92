using System.Buffers.Binary;
using System.Text;
using Fusion.IO;
using static Fusion.Runtime.Tests.IO.RawNpy;

namespace Fusion.Runtime.Tests.IO;

/// <summary>.npy: round trips, format versions 1–3, the dtypes accepted and converted, and each rejection named.</summary>
public sealed class NpyTests : TempDirectoryTest
{
    private CpuTensor ReadBytes(byte[] bytes) => NpyFile.Read(Dir.Write($"{Guid.NewGuid():N}.npy", bytes));

    private void Reject(byte[] bytes, params string[] rule)
    {
        var path = Dir.Write("bad.npy", bytes);
        var e = Assert.Throws<NpyFormatException>(() => NpyFile.Read(path).Dispose());
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.Path);
        foreach (var r in rule) Assert.Contains(r, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float16)]
    [InlineData(DType.Int32)]
    [InlineData(DType.Int8)]
    public void WriterAndReaderRoundTrip(DType dtype)
    {
        var random = new Random(Environment.TickCount);
        int[][] shapes = [[], [0], [1], [5], [3, 7], [2, 0, 3], [2, 3, 4, 5], [1, 1, 1, 1, 1, 1, 1, 1]];
        foreach (var shape in shapes)
        {
            using var tensor = CpuTensor.Zeros(dtype, shape);
            random.NextBytes(tensor.Bytes);
            if (dtype == DType.Float16) // random bit patterns include NaNs with payloads; keep them comparable
                foreach (ref var h in tensor.Span<Half>()) h = Half.IsNaN(h) ? Half.One : h;
            var path = Dir.File("t.npy");
            NpyFile.Write(path, tensor);
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(1, bytes[6]);
            Assert.Equal(0, (10 + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8))) % 64);
            Assert.Equal((byte)'\n', bytes[9 + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8))]);
            using var read = NpyFile.Read(path);
            Assert.Equal(dtype, read.DType);
            Assert.Equal(tensor.Shape, read.Shape);
            Assert.Equal(tensor.Bytes.ToArray(), read.Bytes.ToArray());
        }
    }

    [Fact]
    public void WriterUsesPythonTupleSyntax()
    {
        string HeaderOf(params int[] shape)
        {
            using var t = CpuTensor.Zeros(DType.Float32, shape);
            var path = Dir.File("h.npy");
            NpyFile.Write(path, t);
            var bytes = File.ReadAllBytes(path);
            return Encoding.ASCII.GetString(bytes, 10, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8))).TrimEnd();
        }
        Assert.Equal("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", HeaderOf());
        Assert.Equal("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", HeaderOf(3));
        Assert.Equal("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", HeaderOf(2, 3));
    }

    [Fact]
    public void WriterSwitchesToVersion2WhenTheHeaderOutgrows64KiB()
    {
        var dims = Enumerable.Repeat(1, 25_000).Append(3).ToArray(); // "1, " × 25000 is over 65535 bytes
        using var tensor = CpuTensor.Zeros(DType.Float32, dims);
        tensor.Span<float>()[2] = 7f;
        var path = Dir.File("wide.npy");
        NpyFile.Write(path, tensor);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(2, bytes[6]);
        Assert.Equal(0u, (12 + BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8))) % 64);
        using var read = NpyFile.Read(path);
        Assert.Equal(tensor.Shape, read.Shape);
        Assert.Equal([0f, 0f, 7f], read.ToFloatArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ReadsEveryFormatVersion(int major)
    {
        using var t = ReadBytes(Build(major, Header("<f4", "(2, 2)"), Floats(1, 2, 3, 4)));
        Assert.Equal(new Shape(2, 2), t.Shape);
        Assert.Equal([1f, 2f, 3f, 4f], t.ToFloatArray());
    }

    [Fact]
    public void Version3AllowsUtf8InTheHeaderAndOldFilesUse16BytePadding()
    {
        // A UTF-8 character in a string where numpy would never put one still parses as a string, then fails as a dtype.
        Reject(Build(3, Header("<f4é", "(1,)"), Floats(1), encoding: Encoding.UTF8), "unsupported dtype '<f4é'");
        Reject(Build(3, "{'descr': '<f4', \xff}", [], encoding: Encoding.Latin1), "not valid UTF-8");
        var old = Header("<f4", "(1,)").TrimEnd('\n');
        old = old.PadRight(((10 + old.Length + 1 + 15) / 16 * 16) - 11) + "\n";
        using var t = ReadBytes(Build(1, old, Floats(5)));
        Assert.Equal([5f], t.ToFloatArray());
    }

    [Fact]
    public void ConvertsOtherSimpleTypes()
    {
        var f8 = new byte[16];
        BinaryPrimitives.WriteDoubleLittleEndian(f8, 0.1);
        BinaryPrimitives.WriteDoubleLittleEndian(f8.AsSpan(8), -2.5);
        using (var t = ReadBytes(Build(1, Header("<f8", "(2,)"), f8)))
        {
            Assert.Equal(DType.Float32, t.DType);
            Assert.Equal([0.1f, -2.5f], t.ToFloatArray());
        }
        using (var t = ReadBytes(Build(1, Header("|u1", "(3,)"), [0, 128, 255])))
            Assert.Equal([0, 128, 255], t.Span<int>().ToArray());
        using (var t = ReadBytes(Build(1, Header("<i1", "(2,)"), [0xFF, 7])))
            Assert.Equal([-1, 7], t.Span<sbyte>().ToArray().Select(v => (int)v));
        using (var t = ReadBytes(Build(1, Header("<u2", "(1,)"), [0xFF, 0xFF])))
            Assert.Equal([65535], t.Span<int>().ToArray());
        var i8 = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(i8, -5);
        BinaryPrimitives.WriteInt64LittleEndian(i8.AsSpan(8), int.MaxValue);
        using (var t = ReadBytes(Build(1, Header("<i8", "(2,)"), i8)))
            Assert.Equal([-5, int.MaxValue], t.Span<int>().ToArray());
        BinaryPrimitives.WriteInt64LittleEndian(i8.AsSpan(8), 1L << 40);
        Reject(Build(1, Header("<i8", "(2,)"), i8), "element 1 of dtype '<i8' does not fit in int32");
        var u8 = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(u8, ulong.MaxValue);
        Reject(Build(1, Header("<u8", "(1,)"), u8), "element 0 of dtype '<u8' does not fit in int32");
        using (var t = ReadBytes(Build(1, Header("|b1", "(3,)"), [1, 0, 1])))
            Assert.Equal([1f, 0f, 1f], t.ToFloatArray());
    }

    [Fact]
    public void RejectsObjectArrays() => Reject(Build(1, Header("|O", "(2,)"), new byte[64]), "object array (pickled data)");

    [Fact]
    public void RejectsBigEndian() => Reject(Build(1, Header(">f4", "(1,)"), Floats(1)), "'>f4' is big-endian");

    [Fact]
    public void RejectsUnsupportedTypes()
    {
        Reject(Build(1, Header("<c8", "(1,)"), new byte[8]), "unsupported dtype '<c8'");
        Reject(Build(1, Header("<U3", "(1,)"), new byte[12]), "unsupported dtype '<U3'");
        Reject(Build(1, Header("|f4", "(1,)"), new byte[4]), "unsupported dtype '|f4'");
        Reject(Build(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new byte[4]), "structured dtypes are not supported");
    }

    [Fact]
    public void RejectsFortranOrder() => Reject(Build(1, Header("<f4", "(2, 2)", "True"), Floats(1, 2, 3, 4)), "fortran_order is True; only C-order");

    [Fact]
    public void RejectsTruncatedData() => Reject(Build(1, Header("<f4", "(2, 3)"), Floats(1, 2, 3)), "data holds 12 bytes but shape [2, 3] of '<f4' needs 24 (file truncated)");

    [Fact]
    public void RejectsTrailingData() => Reject(Build(1, Header("<f4", "(1,)"), Floats(1, 2)), "(trailing bytes)");

    [Fact]
    public void RejectsShapeOverflow() =>
        Reject(Build(1, Header("<f4", "(4294967296, 4294967296)"), []), "shape dimension 0 (4294967296) must be between 0 and 2147483647");

    [Fact]
    public void RejectsByteCountOverflow() =>
        Reject(Build(1, Header("<f8", "(2147483647, 2147483647, 2147483647)"), []), "has more bytes than fit in 64 bits");

    [Fact]
    public void RejectsNegativeDimensions() => Reject(Build(1, Header("<f4", "(-1,)"), []), "shape dimension 0 (-1) must be between 0");

    [Fact]
    public void RejectsNotNpyAndBadVersions()
    {
        Reject("just some text, definitely not numpy"u8.ToArray(), "does not start with the magic");
        Reject([0x93, (byte)'N', (byte)'U'], "does not start with the magic");
        Reject(Build(4, Header("<f4", "(1,)"), Floats(1)), "unsupported format version 4.0");
        Reject(Build(1, Header("<f4", "(1,)"), Floats(1), minor: 1), "unsupported format version 1.1");
    }

    [Fact]
    public void RejectsHeaderLengthBeyondTheFile()
    {
        var bytes = Build(1, Header("<f4", "(1,)"), []);
        Reject(bytes[..20], "runs past the end of the file (20 bytes)");
        Reject(bytes[..9], "file ends inside the header length");
        var huge = Build(2, "", []);
        BinaryPrimitives.WriteUInt32LittleEndian(huge.AsSpan(8), uint.MaxValue);
        Reject(huge, "header length 4294967295 exceeds the limit");
    }

    [Fact]
    public void WriterRefusesToOverwriteWhenAsked()
    {
        var path = Dir.File("keep.npy");
        using var t = CpuTensor.FromArray([1f], 1);
        NpyFile.Write(path, t);
        var e = Assert.Throws<NpyFormatException>(() => NpyFile.Write(path, t, overwrite: false));
        Assert.Contains("overwriting was not allowed", e.Message, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(Dir.Path));
    }
}
