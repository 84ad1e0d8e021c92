namespace Fusion.Quantization;

/// <summary>How a tensor's clipping range is chosen from the values a calibration run saw (its <see cref="RangeHistogram"/>).</summary>
public enum CalibrationMethod
{
    /// <summary>The largest magnitude seen: nothing is clipped, the resolution is spent on the outliers.</summary>
    Max,

    /// <summary>The given percentile of the magnitudes (99.99 by default): the rarest outliers are clipped.</summary>
    Percentile,

    /// <summary>
    /// The threshold whose 128-level quantization loses the least information about the distribution of magnitudes, in
    /// Kullback–Leibler divergence (the "entropy" calibration of TensorRT).
    /// </summary>
    Entropy,
}
