namespace Fusion.Quantization;

/// <summary>A Linear's weight [n, k] in int8 with one scale per output channel (row): w ≈ values[r, c] · scales[r].</summary>
public sealed record QuantizedWeight(sbyte[] Values, float[] Scales, int OutFeatures, int InFeatures)
{
    /// <summary>Quantizes a float weight [outFeatures, inFeatures] with per-row scales (max |w| of the row / 127).</summary>
    public static QuantizedWeight From(ReadOnlySpan<float> weight, int outFeatures, int inFeatures)
    {
        var scales = Int8Quantizer.RowScales(weight, outFeatures, inFeatures);
        var values = new sbyte[weight.Length];
        if (values.Length > 0) Int8Quantizer.QuantizeRows(weight, scales, inFeatures, values);
        return new QuantizedWeight(values, scales, outFeatures, inFeatures);
    }
}
