namespace Fusion.Quantization;

/// <summary>
/// The magnitudes |x| one tensor took over a calibration run, as a histogram of <see cref="Bins"/> equal bins over [0, range):
/// when a batch brings a larger magnitude the range doubles (pairs of bins merge) until it fits, so the histogram never needs a
/// second pass and its memory is fixed. NaN or ±∞ in a batch is an error naming the tensor: a clipping range cannot be chosen
/// from them, and they mean the model or its input is broken.
/// </summary>
public sealed class RangeHistogram
{
    /// <summary>Bins of the histogram (TensorRT uses 2048: fine enough for the entropy search over 128-level quantizations).</summary>
    public const int Bins = 2048;

    private readonly long[] _counts = new long[Bins];

    public RangeHistogram(string tensor)
    {
        ArgumentException.ThrowIfNullOrEmpty(tensor);
        Tensor = tensor;
    }

    /// <summary>The tensor whose values these are (named in errors and in the scale file).</summary>
    public string Tensor { get; }

    /// <summary>The upper end of the histogram's range (0 until a nonzero value arrives); bin i covers [i, i + 1)·range/Bins.</summary>
    public double Range { get; private set; }

    /// <summary>The largest magnitude seen.</summary>
    public double Max { get; private set; }

    /// <summary>Values seen (zeros included).</summary>
    public long Count { get; private set; }

    /// <summary>The count of bin <paramref name="bin"/>.</summary>
    public long this[int bin] => _counts[bin];

    /// <summary>The bins' counts, in order.</summary>
    public ReadOnlySpan<long> Counts => _counts;

    /// <summary>Adds one batch of the tensor's values.</summary>
    public void Add(ReadOnlySpan<float> values)
    {
        float batchMax = 0;
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (!float.IsFinite(v))
                throw new FusionException($"calibration: tensor '{Tensor}' holds {v} at element {i} of a batch; a clipping range needs finite values (check the model and its input)");
            batchMax = Math.Max(batchMax, Math.Abs(v));
        }
        if (batchMax > Range) Grow(batchMax);
        double perBin = Range > 0 ? Bins / Range : 0;
        foreach (float v in values)
        {
            int bin = (int)Math.Min(Bins - 1, Math.Abs(v) * perBin);
            _counts[bin]++;
        }
        Count += values.Length;
        Max = Math.Max(Max, batchMax);
    }

    /// <summary>Doubles the range (merging pairs of bins) until <paramref name="magnitude"/> lies inside it.</summary>
    private void Grow(double magnitude)
    {
        if (Range == 0)
        {
            // The first nonzero value sets the range; everything counted so far was 0 and stays in bin 0.
            Range = magnitude;
            return;
        }
        while (Range < magnitude)
        {
            for (int i = 0; i < Bins / 2; i++) _counts[i] = _counts[2 * i] + _counts[2 * i + 1];
            Array.Clear(_counts, Bins / 2, Bins / 2);
            Range *= 2;
        }
    }
}
