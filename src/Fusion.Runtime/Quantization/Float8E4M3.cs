namespace Fusion.Quantization;

/// <summary>
/// The FP8 E4M3 format of Hopper's tensor cores (OCP "E4M3FN"): sign, 4 exponent bits (bias 7), 3 mantissa bits; subnormals
/// down to 2⁻⁹, the largest finite value ±448, no infinities, NaN = S.1111.111. <see cref="Encode"/> rounds to nearest even and
/// saturates to ±448 as the GPU's <c>cvt.rn.satfinite.e4m3x2.f32</c> does, so the CPU and GPU quantize alike.
/// </summary>
public static class Float8E4M3
{
    /// <summary>The largest finite magnitude.</summary>
    public const float MaxValue = 448f;

    /// <summary>The code of NaN (positive); 0xFF is NaN too.</summary>
    public const byte NaN = 0x7F;

    private const int ExponentBias = 7;
    private const double SmallestNormal = 1.0 / 64; // 2⁻⁶
    private const double SubnormalStep = 1.0 / 512; // 2⁻⁹

    private static readonly float[] s_values = Enumerable.Range(0, 256).Select(c => Compute((byte)c)).ToArray();

    /// <summary>The value of an E4M3 code (exact in float32; a table, as the CPU plans decode whole tensors).</summary>
    public static float Decode(byte code) => s_values[code];

    /// <summary>Decodes each of <paramref name="codes"/> into <paramref name="values"/>.</summary>
    public static void Decode(ReadOnlySpan<byte> codes, Span<float> values)
    {
        if (values.Length < codes.Length) throw new ArgumentException($"{codes.Length} codes into {values.Length} values", nameof(values));
        for (int i = 0; i < codes.Length; i++) values[i] = s_values[codes[i]];
    }

    private static float Compute(byte code)
    {
        int exponent = (code >> 3) & 0xF, mantissa = code & 0x7;
        double magnitude = exponent == 0xF && mantissa == 0x7 ? double.NaN
            : exponent == 0 ? mantissa * SubnormalStep
            : (1 + mantissa / 8.0) * Math.ScaleB(1.0, exponent - ExponentBias);
        return (float)((code & 0x80) != 0 ? -magnitude : magnitude);
    }

    /// <summary>The nearest E4M3 value (ties to even), ±448 for anything larger (infinities too), <see cref="NaN"/> for NaN.</summary>
    public static byte Encode(float value)
    {
        if (float.IsNaN(value)) return NaN;
        byte sign = (byte)(float.IsNegative(value) ? 0x80 : 0);
        double magnitude = Math.Min(Math.Abs((double)value), MaxValue);
        // The spacing of representable values at this magnitude: 2⁻⁹ below 2⁻⁶ (subnormals), else 2^(e − 3). Exact in double.
        double step = magnitude < SmallestNormal ? SubnormalStep : Math.ScaleB(1.0, Math.ILogB(magnitude) - 3);
        double rounded = Math.Round(magnitude / step, MidpointRounding.ToEven) * step;
        if (rounded > MaxValue) rounded = MaxValue; // 448 < x < 464 rounds to 448 already; kept for clarity of the bound
        if (rounded < SmallestNormal) return (byte)(sign | (int)(rounded / SubnormalStep)); // 2⁻⁶ itself is the normal 0x08
        int exponent = Math.ILogB(rounded);
        int mantissa = (int)(rounded / Math.ScaleB(1.0, exponent) * 8) - 8;
        return (byte)(sign | ((exponent + ExponentBias) << 3) | mantissa);
    }

    /// <summary>Encodes each of <paramref name="values"/> times <paramref name="inverseScale"/> (the float32 product, as the GPU rounds it).</summary>
    public static void Quantize(ReadOnlySpan<float> values, float inverseScale, Span<byte> result)
    {
        if (result.Length < values.Length) throw new ArgumentException($"{values.Length} values into {result.Length} codes", nameof(result));
        for (int i = 0; i < values.Length; i++) result[i] = Encode(values[i] * inverseScale);
    }

    /// <summary>The per-tensor scale that maps ±<paramref name="threshold"/> to ±448 (1 for a zero threshold).</summary>
    public static float ScaleFor(double threshold)
    {
        if (!(threshold >= 0) || double.IsInfinity(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "a clipping threshold is finite and not negative");
        return threshold == 0 ? 1f : (float)(threshold / MaxValue);
    }
}
