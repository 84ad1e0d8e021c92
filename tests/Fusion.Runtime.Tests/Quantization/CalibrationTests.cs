using Fusion.Quantization;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Quantization;

/// <summary>
/// Range histograms and the three clipping methods on distributions whose answer is known: the maximum; the 99.99th percentile
/// of uniform magnitudes (within one bin); the entropy method on a Gaussian with rare far outliers, which clips them (a threshold
/// well below the maximum, above 2σ); growth of the range while batches arrive keeps every count.
/// </summary>
public sealed class CalibrationTests
{
    [Fact]
    public void GrowingTheRangeKeepsEveryValue()
    {
        var h = new RangeHistogram("fc1.input");
        h.Add([0f, 0f]);
        h.Add([0.5f, -0.25f, 0.125f]);
        h.Add([3f, -7.5f]);
        h.Add([100f]);
        Assert.Equal(8, h.Count);
        Assert.Equal(8, h.Counts.ToArray().Sum());
        Assert.Equal(100, h.Max);
        // The first nonzero batch set the range to 0.5; 7.5 doubled it to 8, 100 to 128: each value's bin halved eight times.
        Assert.Equal(128, h.Range);
        Assert.Equal(2, h[0]); // the zeros
        Assert.Equal(1, h[2]); // 0.125: bin 512 of [0, 0.5) → 2
        Assert.Equal(1, h[4]); // 0.25: 1024 → 4
        Assert.Equal(1, h[7]); // 0.5, the last bin of [0, 0.5): 2047 → 7
        Assert.Equal(1, h[48]); // 3 in [0, 8): 768 → 48
        Assert.Equal(1, h[120]); // 7.5: 1920 → 120
        Assert.Equal(1, h[1600]); // 100 in [0, 128)
    }

    [Fact]
    public void NonFiniteValuesNameTheTensor()
    {
        var h = new RangeHistogram("blocks.3.mlp.fc2.input");
        var e = Assert.Throws<FusionException>(() => h.Add([1f, float.NaN]));
        Assert.Contains("blocks.3.mlp.fc2.input", e.Message);
        Assert.Contains("element 1", e.Message);
        var empty = Assert.Throws<FusionException>(() => ClippingThreshold.Of(new RangeHistogram("head.input"), CalibrationMethod.Max));
        Assert.Contains("head.input", empty.Message);
    }

    [Fact]
    public void MaxAndPercentileOfUniformMagnitudes()
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        var h = new RangeHistogram("x");
        var batch = new float[100_000];
        for (int b = 0; b < 5; b++)
        {
            for (int i = 0; i < batch.Length; i++) batch[i] = (float)(random.NextDouble() * 2 - 1);
            h.Add(batch);
        }
        Assert.Equal(h.Max, ClippingThreshold.Of(h, CalibrationMethod.Max));
        double width = h.Range / RangeHistogram.Bins;
        double p90 = ClippingThreshold.Of(h, CalibrationMethod.Percentile, 90);
        Assert.True(Math.Abs(p90 - 0.9) <= 2 * width + 0.01, $"90th percentile {p90} (seed {seed})");
        double p9999 = ClippingThreshold.Of(h, CalibrationMethod.Percentile);
        Assert.True(p9999 <= h.Max && p9999 >= 0.99, $"99.99th percentile {p9999}, max {h.Max} (seed {seed})");
    }

    [Fact]
    public void EntropyClipsRareFarOutliers()
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        var h = new RangeHistogram("attn.proj.input");
        var batch = new float[200_000];
        for (int i = 0; i < batch.Length; i++)
        {
            // Box–Muller: N(0, 1).
            double u = 1 - random.NextDouble(), v = random.NextDouble();
            batch[i] = (float)(Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v));
        }
        batch[0] = 40f;
        batch[1] = -35f;
        h.Add(batch);
        double entropy = ClippingThreshold.Of(h, CalibrationMethod.Entropy);
        Assert.True(entropy > 2 && entropy < 20, $"entropy threshold {entropy} for N(0, 1) with outliers at 40 (seed {seed})");
        Assert.True(entropy < ClippingThreshold.Of(h, CalibrationMethod.Max));
    }

    [Fact]
    public void AllZerosNeedNoRange()
    {
        var h = new RangeHistogram("zeros");
        h.Add(new float[10]);
        foreach (var method in Enum.GetValues<CalibrationMethod>()) Assert.Equal(0, ClippingThreshold.Of(h, method));
    }
}
