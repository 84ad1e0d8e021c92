namespace Fusion.IO;

/// <summary>Element types of the safetensors format, by their on-disk names (F32, F16, BF16, …).</summary>
public enum SafetensorsDType
{
    BOOL,
    U8,
    I8,
    F8_E4M3,
    F8_E5M2,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    I64,
    U64,
    F64,
}

public static class SafetensorsDTypeExtensions
{
    /// <summary>Bytes per element.</summary>
    public static int SizeInBytes(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.BOOL or SafetensorsDType.U8 or SafetensorsDType.I8 or SafetensorsDType.F8_E4M3 or SafetensorsDType.F8_E5M2 => 1,
        SafetensorsDType.I16 or SafetensorsDType.U16 or SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        SafetensorsDType.I32 or SafetensorsDType.U32 or SafetensorsDType.F32 => 4,
        SafetensorsDType.I64 or SafetensorsDType.U64 or SafetensorsDType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown safetensors dtype"),
    };

    /// <summary>Whether <see cref="SafetensorsFile.ReadFloat32"/> can convert this type (F32, F16, BF16).</summary>
    public static bool IsConvertibleToFloat32(this SafetensorsDType dtype) =>
        dtype is SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16;

    /// <summary>The on-disk type of a Fusion dtype.</summary>
    public static SafetensorsDType ToSafetensors(this DType dtype) => dtype switch
    {
        DType.Float32 => SafetensorsDType.F32,
        DType.Float16 => SafetensorsDType.F16,
        DType.Int8 => SafetensorsDType.I8,
        DType.Int32 => SafetensorsDType.I32,
        DType.Float8E4M3 => SafetensorsDType.F8_E4M3,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Parses an on-disk name exactly (case-sensitive, as the format requires).</summary>
    public static bool TryParse(string name, out SafetensorsDType dtype)
    {
        // Enum.TryParse would also accept numbers and other casings; the format allows neither.
        foreach (var candidate in Enum.GetValues<SafetensorsDType>())
        {
            if (candidate.ToString() == name)
            {
                dtype = candidate;
                return true;
            }
        }
        dtype = default;
        return false;
    }
}
