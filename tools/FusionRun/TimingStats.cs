namespace Fusion.Run;

/// <summary>One forward pass: wall-clock milliseconds on the host and, on CUDA, device milliseconds between two events.</summary>
internal sealed record IterationRecord(int Index, double WallMs, double? DeviceMs);

/// <summary>
/// Average, median (the middle time, or the mean of the two middle ones: what a benchmark table states, robust to the odd slow
/// pass), sample standard deviation (n − 1; 0 for one sample), minimum and maximum of a set of times.
/// </summary>
internal sealed record TimingStats(int Count, double Mean, double Median, double StdDev, double Min, double Max)
{
    public static TimingStats Of(IReadOnlyList<double> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) throw new ArgumentException("no samples", nameof(samples));
        double mean = samples.Average();
        double squares = samples.Sum(s => (s - mean) * (s - mean));
        double sd = samples.Count > 1 ? Math.Sqrt(squares / (samples.Count - 1)) : 0;
        var sorted = samples.Order().ToArray();
        int half = sorted.Length / 2;
        double median = sorted.Length % 2 == 1 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
        return new TimingStats(samples.Count, mean, median, sd, sorted[0], sorted[^1]);
    }
}
