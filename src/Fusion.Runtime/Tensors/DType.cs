namespace Fusion;

/// <summary>Element types a tensor can hold.</summary>
public enum DType
{
    Float32,
    Float16,
    Int8,
    Int32,

    /// <summary>8-bit float E4M3 (1 sign, 4 exponent, 3 mantissa bits; finite to ±448, no infinities): FP8 operands of Hopper's tensor cores.</summary>
    Float8E4M3,
}

public static class DTypeExtensions
{
    /// <summary>Bytes per element.</summary>
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.Float32 => 4,
        DType.Float16 => 2,
        DType.Int8 => 1,
        DType.Int32 => 4,
        DType.Float8E4M3 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>The short name used in messages and file formats (f32, f16, i8, i32, e4m3).</summary>
    public static string ShortName(this DType dtype) => dtype switch
    {
        DType.Float32 => "f32",
        DType.Float16 => "f16",
        DType.Int8 => "i8",
        DType.Int32 => "i32",
        DType.Float8E4M3 => "e4m3",
        _ => dtype.ToString(),
    };
}
