using System.Buffers.Binary;

namespace Fusion.IO;

/// <summary>
/// The little-endian numpy element types this reader accepts, and the tensor dtype each becomes:
/// f4, f2, i4 and i1 are kept as they are; f8 narrows to f32; the other integers widen (or are
/// range-checked) to i32; bool becomes i8.
/// </summary>
internal sealed record NpyDescr(string Descr, int ItemSize, DType Target)
{
    private static readonly NpyDescr[] Supported =
    [
        new("<f4", 4, DType.Float32),
        new("<f2", 2, DType.Float16),
        new("<f8", 8, DType.Float32),
        new("<i4", 4, DType.Int32),
        new("|i1", 1, DType.Int8),
        new("|b1", 1, DType.Int8),
        new("|u1", 1, DType.Int32),
        new("<i2", 2, DType.Int32),
        new("<u2", 2, DType.Int32),
        new("<u4", 4, DType.Int32),
        new("<i8", 8, DType.Int32),
        new("<u8", 8, DType.Int32),
    ];

    /// <summary>Whether the bytes on disk are already the target's little-endian layout.</summary>
    public bool IsVerbatim => ItemSize == Target.SizeInBytes() && Descr[1] != 'u';

    /// <summary>The descr written for a tensor of <paramref name="dtype"/>.</summary>
    public static string For(DType dtype) => dtype switch
    {
        DType.Float32 => "<f4",
        DType.Float16 => "<f2",
        DType.Int32 => "<i4",
        DType.Int8 => "|i1",
        DType.Float8E4M3 => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "numpy has no float8 type: save the tensor's values as f32 (CpuTensor.ToFloatArray)"),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    public static NpyDescr Parse(string path, string descr)
    {
        // numpy writes '|' for one-byte types, but '<i1' names the same type.
        var normalized = descr.Length == 3 && descr[0] == '<' && descr[2] == '1' ? "|" + descr[1..] : descr;
        foreach (var d in Supported)
        {
            if (d.Descr == normalized) return d;
        }
        if (descr.Contains('O'))
            throw new NpyFormatException(path, $"dtype '{descr}' is an object array (pickled data), which is never loaded");
        if (descr.StartsWith('>'))
            throw new NpyFormatException(path, $"dtype '{descr}' is big-endian; only little-endian data is supported");
        throw new NpyFormatException(path, $"unsupported dtype '{descr}' (supported: {string.Join(", ", Supported.Select(s => s.Descr))})");
    }

    /// <summary>Converts raw little-endian elements into the target tensor; integers that do not fit in int32 are an error.</summary>
    public void Convert(string path, ReadOnlySpan<byte> source, CpuTensor destination)
    {
        if (IsVerbatim)
        {
            if (BitConverter.IsLittleEndian || ItemSize == 1) { source.CopyTo(destination.Bytes); return; }
        }
        switch (Target)
        {
            case DType.Float32:
            {
                var d = destination.Span<float>();
                for (int i = 0; i < d.Length; i++)
                    d[i] = ItemSize == 8 ? (float)BinaryPrimitives.ReadDoubleLittleEndian(source[(8 * i)..]) : BinaryPrimitives.ReadSingleLittleEndian(source[(4 * i)..]);
                break;
            }
            case DType.Float16:
            {
                var d = destination.Span<Half>();
                for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadHalfLittleEndian(source[(2 * i)..]);
                break;
            }
            case DType.Int32:
            {
                var d = destination.Span<int>();
                for (int i = 0; i < d.Length; i++) d[i] = ToInt32(path, source.Slice(ItemSize * i, ItemSize), i);
                break;
            }
            default:
                throw new InvalidOperationException($"no conversion from {Descr} to {Target.ShortName()}");
        }
    }

    private int ToInt32(string path, ReadOnlySpan<byte> item, int index)
    {
        long value = Descr switch
        {
            "|u1" => item[0],
            "<i2" => BinaryPrimitives.ReadInt16LittleEndian(item),
            "<u2" => BinaryPrimitives.ReadUInt16LittleEndian(item),
            "<i4" => BinaryPrimitives.ReadInt32LittleEndian(item),
            "<u4" => BinaryPrimitives.ReadUInt32LittleEndian(item),
            "<i8" => BinaryPrimitives.ReadInt64LittleEndian(item),
            // Anything above long.MaxValue is out of range anyway; clamp so the check below reports it.
            _ => (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(item), long.MaxValue),
        };
        if (value is < int.MinValue or > int.MaxValue)
            throw new NpyFormatException(path, $"element {index} of dtype '{Descr}' does not fit in int32");
        return (int)value;
    }
}
