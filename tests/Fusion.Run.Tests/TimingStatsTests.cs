namespace Fusion.Run.Tests;

public class TimingStatsTests
{
    [Fact]
    public void KnownSamplesGiveMeanAndSampleStandardDeviation()
    {
        var stats = TimingStats.Of([1, 2, 3, 4]);
        Assert.Equal(4, stats.Count);
        Assert.Equal(2.5, stats.Mean, 12);
        Assert.Equal(2.5, stats.Median, 12); // even count: the mean of the two middle times
        Assert.Equal(Math.Sqrt(5.0 / 3.0), stats.StdDev, 12); // n − 1: Σ(x − 2.5)² = 5, over 3
        Assert.Equal(1.2909944487358056, stats.StdDev, 12);
        Assert.Equal(1, stats.Min);
        Assert.Equal(4, stats.Max);
    }

    [Fact]
    public void UnorderedSamplesWithAnOutlier()
    {
        var stats = TimingStats.Of([10, 2, 4, 4, 5]);
        Assert.Equal(5.0, stats.Mean, 12);
        Assert.Equal(4.0, stats.Median, 12); // odd count: the middle one, whatever the outlier
        Assert.Equal(3.0, stats.StdDev, 12); // Σ = 25+9+1+1+0 = 36, /4 = 9
        Assert.Equal(2, stats.Min);
        Assert.Equal(10, stats.Max);
    }

    [Fact]
    public void OneSampleHasZeroDeviation()
    {
        var stats = TimingStats.Of([7.25]);
        Assert.Equal(7.25, stats.Mean);
        Assert.Equal(7.25, stats.Median);
        Assert.Equal(0, stats.StdDev);
        Assert.Equal(7.25, stats.Min);
        Assert.Equal(7.25, stats.Max);
    }

    [Fact]
    public void NoSamplesIsAnError() => Assert.Throws<ArgumentException>(() => TimingStats.Of([]));

    [Fact]
    public void ClosingLineFormatsEveryFigure()
    {
        var line = ConsoleReport.Stats("wall", TimingStats.Of([1, 2, 3, 10]));
        Assert.Equal("wall: avg 4.000 ms, median 2.500 ms, std 4.082 ms, min 1.000 ms, max 10.000 ms over 4 iterations", line);
    }
}
