namespace Fusion.Quantization;

/// <summary>
/// The magnitude beyond which a tensor's values are clipped when quantized to int8 (scale = threshold / 127), chosen from its
/// <see cref="RangeHistogram"/> by a <see cref="CalibrationMethod"/>.
/// </summary>
public static class ClippingThreshold
{
    /// <summary>The percentile <see cref="CalibrationMethod.Percentile"/> uses unless told otherwise.</summary>
    public const double DefaultPercentile = 99.99;

    /// <summary>Quantization levels of a symmetric int8 range's magnitudes (0 … 127).</summary>
    private const int Levels = 128;

    public static double Of(RangeHistogram histogram, CalibrationMethod method, double percentile = DefaultPercentile)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        if (histogram.Count == 0) throw new FusionException($"calibration: tensor '{histogram.Tensor}' saw no values; the calibration set reached no batch through it");
        if (histogram.Max == 0) return 0; // all zeros: any scale represents them
        return method switch
        {
            CalibrationMethod.Max => histogram.Max,
            CalibrationMethod.Percentile => Percentile(histogram, percentile),
            CalibrationMethod.Entropy => Entropy(histogram),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "not a calibration method"),
        };
    }

    /// <summary>The upper edge of the bin holding the <paramref name="percentile"/>-th percentile of the magnitudes (at most the maximum).</summary>
    public static double Percentile(RangeHistogram histogram, double percentile)
    {
        if (!(percentile > 0 && percentile <= 100)) throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "a percentile lies in (0, 100]");
        double wanted = histogram.Count * percentile / 100, width = histogram.Range / RangeHistogram.Bins;
        long seen = 0;
        for (int i = 0; i < RangeHistogram.Bins; i++)
        {
            seen += histogram[i];
            if (seen >= wanted) return Math.Min(histogram.Max, (i + 1) * width);
        }
        return histogram.Max;
    }

    /// <summary>
    /// TensorRT's entropy calibration: for each candidate count i of bins kept (128 … 2048), the reference distribution P is the
    /// first i bins with everything beyond added to the last, and Q is those i bins quantized to 128 levels (each level's count
    /// spread evenly over its nonzero bins); the threshold is the upper edge of the i that minimises KL(P ‖ Q).
    /// </summary>
    public static double Entropy(RangeHistogram histogram)
    {
        var counts = histogram.Counts;
        int bins = RangeHistogram.Bins;
        double width = histogram.Range / bins;
        // The last nonzero bin: thresholds past it keep every value, and all of them quantize alike.
        int last = bins - 1;
        while (last > 0 && counts[last] == 0) last--;
        if (last < Levels) return Math.Min(histogram.Max, (last + 1) * width);
        var p = new double[bins];
        var q = new double[bins];
        double bestDivergence = double.PositiveInfinity;
        int best = last + 1;
        for (int i = last + 1; i >= Levels; i--)
        {
            // P: the first i bins, the clipped tail added to the last of them.
            long tail = 0;
            for (int j = i; j < bins; j++) tail += counts[j];
            for (int j = 0; j < i; j++) p[j] = counts[j];
            p[i - 1] += tail;
            // Q: i bins in 128 groups (the last group takes the remainder), each group's count spread over its nonzero bins.
            int perLevel = i / Levels;
            for (int level = 0; level < Levels; level++)
            {
                int start = level * perLevel, end = level == Levels - 1 ? i : start + perLevel;
                double total = 0;
                int nonzero = 0;
                for (int j = start; j < end; j++)
                {
                    total += counts[j];
                    if (counts[j] != 0) nonzero++;
                }
                for (int j = start; j < end; j++) q[j] = counts[j] != 0 ? total / nonzero : 0;
            }
            double divergence = Divergence(p.AsSpan(0, i), q.AsSpan(0, i));
            if (divergence < bestDivergence)
            {
                bestDivergence = divergence;
                best = i;
            }
        }
        return Math.Min(histogram.Max, best * width);
    }

    /// <summary>KL(P ‖ Q) of two unnormalised histograms; Q's empty bins where P has mass get a small share (smoothing), as TensorRT does.</summary>
    private static double Divergence(ReadOnlySpan<double> p, ReadOnlySpan<double> q)
    {
        const double epsilon = 1e-4;
        double pSum = 0, qSum = 0;
        int qZeros = 0;
        for (int j = 0; j < p.Length; j++)
        {
            pSum += p[j];
            qSum += q[j];
            if (q[j] == 0 && p[j] != 0) qZeros++;
        }
        if (pSum == 0) return 0;
        if (qSum == 0) return double.PositiveInfinity;
        // Move epsilon of Q's mass (per empty bin) from its nonzero bins to the empty ones P needs.
        int qNonzero = 0;
        for (int j = 0; j < q.Length; j++) if (q[j] != 0) qNonzero++;
        double take = qNonzero > 0 ? epsilon * qZeros / qNonzero : 0;
        double divergence = 0;
        for (int j = 0; j < p.Length; j++)
        {
            if (p[j] == 0) continue;
            double pj = p[j] / pSum;
            double qj = q[j] != 0 ? Math.Max(q[j] / qSum - take, epsilon * 1e-3) : epsilon;
            divergence += pj * Math.Log(pj / qj);
        }
        return divergence;
    }
}
