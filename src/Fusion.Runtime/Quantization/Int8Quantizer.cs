namespace Fusion.Quantization;

/// <summary>
/// Symmetric int8 quantization: q = clamp(round(x / scale), −127, 127), rounding half to even, and back, x ≈ q·scale. −128 is
/// never produced, so negation stays exact. A weight [rows, columns] gets one scale per row (output channel): max |w| / 127.
/// </summary>
public static class Int8Quantizer
{
    /// <summary>The scale that maps ±<paramref name="threshold"/> to ±127 (1 for a zero threshold: every value is 0 then).</summary>
    public static float ScaleFor(double threshold)
    {
        if (!(threshold >= 0) || double.IsInfinity(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "a clipping threshold is finite and not negative");
        return threshold == 0 ? 1f : (float)(threshold / 127);
    }

    public static void Quantize(ReadOnlySpan<float> values, float scale, Span<sbyte> result)
    {
        if (!(scale > 0) || float.IsInfinity(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "an int8 scale is finite and positive");
        if (result.Length < values.Length) throw new ArgumentException($"{values.Length} values into {result.Length} int8s", nameof(result));
        float inverse = 1 / scale;
        for (int i = 0; i < values.Length; i++)
            result[i] = (sbyte)ScalarMath.RoundI8(values[i] * inverse); // the int8 plan's stores round the same way
    }

    public static void Dequantize(ReadOnlySpan<sbyte> values, float scale, Span<float> result)
    {
        if (result.Length < values.Length) throw new ArgumentException($"{values.Length} int8s into {result.Length} floats", nameof(result));
        for (int i = 0; i < values.Length; i++) result[i] = values[i] * scale;
    }

    /// <summary>Per-row (output channel) scales of a weight [rows, columns]: max |w| of the row / 127, 1 for a row of zeros.</summary>
    public static float[] RowScales(ReadOnlySpan<float> weight, int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if (weight.Length != (long)rows * columns) throw new ArgumentException($"a [{rows}, {columns}] weight holds {(long)rows * columns} values, not {weight.Length}", nameof(weight));
        var scales = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            var row = weight.Slice(r * columns, columns);
            float max = 0;
            foreach (float w in row)
            {
                if (!float.IsFinite(w)) throw new ArgumentException($"weight row {r} holds {w}; int8 scales need finite weights", nameof(weight));
                max = Math.Max(max, Math.Abs(w));
            }
            scales[r] = ScaleFor(max);
        }
        return scales;
    }

    /// <summary>Quantizes each row of a weight [rows, columns] with its own scale.</summary>
    public static void QuantizeRows(ReadOnlySpan<float> weight, ReadOnlySpan<float> scales, int columns, Span<sbyte> result)
    {
        if (columns <= 0 || weight.Length != scales.Length * columns)
            throw new ArgumentException($"a weight of {weight.Length} values is not {scales.Length} rows of {columns}", nameof(weight));
        for (int r = 0; r < scales.Length; r++)
            Quantize(weight.Slice(r * columns, columns), scales[r], result.Slice(r * columns, columns));
    }
}
