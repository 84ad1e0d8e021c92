namespace Fusion.Run;

/// <summary>One forward pass: wall-clock milliseconds on the host and, on CUDA, device milliseconds between two events.</summary>
internal sealed record IterationRecord(int Index, double WallMs, double? DeviceMs);

/// <summary>Average, sample standard deviation (n − 1; 0 for one sample), minimum and maximum of a set of times.</summary>
internal sealed record TimingStats(int Count, double Mean, double StdDev, double Min, double Max)
{
    public static TimingStats Of(IReadOnlyList<double> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) throw new ArgumentException("no samples", nameof(samples));
        double mean = samples.Average();
        double squares = samples.Sum(s => (s - mean) * (s - mean));
        double sd = samples.Count > 1 ? Math.Sqrt(squares / (samples.Count - 1)) : 0;
        return new TimingStats(samples.Count, mean, sd, samples.Min(), samples.Max());
    }
}
