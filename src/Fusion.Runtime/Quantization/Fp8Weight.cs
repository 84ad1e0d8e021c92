namespace Fusion.Quantization;

/// <summary>
/// A Linear's weight [n, k] in FP8 E4M3 with one scale for the whole tensor (what Hopper's FP8 products take): w ≈ decode(codes[r, c])·scale,
/// scale = max |w| / 448.
/// </summary>
public sealed record Fp8Weight(byte[] Codes, float Scale, int OutFeatures, int InFeatures)
{
    public static Fp8Weight From(ReadOnlySpan<float> weight, int outFeatures, int inFeatures)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(outFeatures);
        ArgumentOutOfRangeException.ThrowIfNegative(inFeatures);
        if (weight.Length != (long)outFeatures * inFeatures)
            throw new ArgumentException($"a [{outFeatures}, {inFeatures}] weight holds {(long)outFeatures * inFeatures} values, not {weight.Length}", nameof(weight));
        float max = 0;
        foreach (float w in weight)
        {
            if (!float.IsFinite(w)) throw new ArgumentException($"the weight holds {w}; FP8 scales need finite weights", nameof(weight));
            max = Math.Max(max, Math.Abs(w));
        }
        float scale = Float8E4M3.ScaleFor(max);
        var codes = new byte[weight.Length];
        Float8E4M3.Quantize(weight, 1 / scale, codes);
        return new Fp8Weight(codes, scale, outFeatures, inFeatures);
    }
}
