using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace Fusion.IO;

/// <summary>
/// Reads and writes numpy .npy files (format versions 1.0, 2.0 and 3.0): little-endian simple
/// dtypes in C order only. Pickled object arrays are never loaded.
/// </summary>
public static class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Headers larger than this are refused; real ones are a few hundred bytes.</summary>
    public const int MaxHeaderBytes = 1 << 20;

    /// <summary>
    /// Reads <paramref name="path"/> into a new tensor: f32 from f4 and f8, f16 from f2, i8 from i1 and
    /// b1, i32 from the other integer types (values outside int32 are an error). The caller owns it.
    /// </summary>
    public static CpuTensor Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            var header = ReadHeader(path, stream);
            long remaining = stream.Length - stream.Position;
            if (remaining != header.ByteCount)
                throw new NpyFormatException(path,
                    $"data holds {remaining} bytes but shape {Shape.Format(header.Shape)} of '{header.Descr.Descr}' needs {header.ByteCount}" +
                    (remaining < header.ByteCount ? " (file truncated)" : " (trailing bytes)"));
            return ReadData(path, stream, header);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NpyFormatException(path, $"cannot read the file ({e.Message})", e);
        }
    }

    /// <summary>Writes <paramref name="tensor"/> as format 1.0, or 2.0 when the header needs more than 64 KiB.</summary>
    public static void Write(string path, CpuTensor tensor, bool overwrite = true)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensor);
        var dict = $"{{'descr': '{NpyDescr.For(tensor.DType)}', 'fortran_order': False, 'shape': {FormatShape(tensor.Shape.ToArray())}, }}";
        byte[] header = Encoding.ASCII.GetBytes(dict);
        int major = header.Length + 11 > ushort.MaxValue ? 2 : 1;
        int preamble = major == 1 ? 10 : 12;
        // Spaces and a final newline pad the preamble and header to a multiple of 64 bytes.
        int total = (preamble + header.Length + 1 + 63) / 64 * 64;
        var padded = new byte[total - preamble];
        header.CopyTo(padded, 0);
        padded.AsSpan(header.Length, padded.Length - header.Length - 1).Fill((byte)' ');
        padded[^1] = (byte)'\n';

        bool written = AtomicFile.Write(path, overwrite, stream =>
        {
            stream.Write(Magic);
            stream.WriteByte((byte)major);
            stream.WriteByte(0);
            Span<byte> length = stackalloc byte[4];
            if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)padded.Length);
            else BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)padded.Length);
            stream.Write(length[..(preamble - 8)]);
            stream.Write(padded);
            stream.Write(tensor.Bytes);
        });
        if (!written)
            throw new NpyFormatException(path, "file exists and overwriting was not allowed");
    }

    private static NpyHeader ReadHeader(string path, FileStream stream)
    {
        Span<byte> start = stackalloc byte[8];
        if (stream.ReadAtLeast(start, 8, throwOnEndOfStream: false) < 8 || !start[..6].SequenceEqual(Magic))
            throw new NpyFormatException(path, "not a .npy file: it does not start with the magic \\x93NUMPY");
        byte major = start[6], minor = start[7];
        if (major is < 1 or > 3 || minor != 0)
            throw new NpyFormatException(path, $"unsupported format version {major}.{minor} (1.0, 2.0 and 3.0 are supported)");

        Span<byte> lengthBytes = stackalloc byte[major == 1 ? 2 : 4];
        if (stream.ReadAtLeast(lengthBytes, lengthBytes.Length, throwOnEndOfStream: false) < lengthBytes.Length)
            throw new NpyFormatException(path, "file ends inside the header length");
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(lengthBytes) : BinaryPrimitives.ReadUInt32LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes)
            throw new NpyFormatException(path, $"header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes");
        if (headerLength > stream.Length - stream.Position)
            throw new NpyFormatException(path, $"header length {headerLength} runs past the end of the file ({stream.Length} bytes)");

        var raw = new byte[headerLength];
        stream.ReadExactly(raw);
        // Versions 1 and 2 store the header in latin-1, version 3 in UTF-8.
        if (major == 3 && !Utf8.IsValid(raw))
            throw new NpyFormatException(path, "header is not valid UTF-8 (required by format 3.0)");
        var text = major == 3 ? Encoding.UTF8.GetString(raw) : Encoding.Latin1.GetString(raw);
        return NpyHeader.Parse(path, text);
    }

    private static CpuTensor ReadData(string path, FileStream stream, NpyHeader header)
    {
        long elements = header.ByteCount / header.Descr.ItemSize;
        if (elements * header.Descr.Target.SizeInBytes() > Array.MaxLength)
            throw new NpyFormatException(path, $"shape {Shape.Format(header.Shape)} exceeds the largest tensor .NET can allocate");
        var tensor = CpuTensor.Zeros(header.Descr.Target, header.Shape);
        try
        {
            if (header.Descr.IsVerbatim && BitConverter.IsLittleEndian)
            {
                stream.ReadExactly(tensor.Bytes);
            }
            else
            {
                if (header.ByteCount > Array.MaxLength)
                    throw new NpyFormatException(path, $"{header.ByteCount} bytes of '{header.Descr.Descr}' exceed the largest array .NET can allocate");
                var raw = new byte[header.ByteCount];
                stream.ReadExactly(raw);
                header.Descr.Convert(path, raw, tensor);
            }
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>A Python tuple: "()", "(3,)", "(2, 3)".</summary>
    private static string FormatShape(int[] dims) => dims.Length == 1
        ? string.Create(CultureInfo.InvariantCulture, $"({dims[0]},)")
        : "(" + string.Join(", ", dims) + ")";
}
