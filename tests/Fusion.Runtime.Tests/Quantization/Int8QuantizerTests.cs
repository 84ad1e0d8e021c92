using Fusion.Quantization;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Quantization;

/// <summary>Symmetric int8 quantization: error at most half a step inside the range, clamping outside it, ties to even, per-row weight scales.</summary>
public sealed class Int8QuantizerTests
{
    [Fact]
    public void RoundTripErrorIsAtMostHalfAStep()
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        var values = new float[1001];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 6 - 3);
        float scale = Int8Quantizer.ScaleFor(3.0);
        var q = new sbyte[values.Length];
        var back = new float[values.Length];
        Int8Quantizer.Quantize(values, scale, q);
        Int8Quantizer.Dequantize(q, scale, back);
        for (int i = 0; i < values.Length; i++)
            Assert.True(Math.Abs(back[i] - values[i]) <= scale / 2 * (1 + 1e-6), $"{values[i]} → {q[i]} → {back[i]} (scale {scale}, seed {seed})");
    }

    [Fact]
    public void ClampsToSymmetricRangeAndRoundsTiesToEven()
    {
        var q = new sbyte[6];
        Int8Quantizer.Quantize([1000f, -1000f, 2.5f, 3.5f, -2.5f, 0f], 1f, q);
        Assert.Equal(new sbyte[] { 127, -127, 2, 4, -2, 0 }, q);
        Assert.Throws<ArgumentOutOfRangeException>(() => Int8Quantizer.Quantize([1f], 0f, new sbyte[1]));
        Assert.Equal(1f, Int8Quantizer.ScaleFor(0));
    }

    [Fact]
    public void RowScalesTakeEachRowsLargestMagnitude()
    {
        float[] w = [0.5f, -2.54f, 1f, 0f, 0f, 0f, 1.27f, 0.1f, -0.2f];
        var scales = Int8Quantizer.RowScales(w, 3, 3);
        Assert.Equal(2.54f / 127, scales[0], 1e-7f);
        Assert.Equal(1f, scales[1]); // a row of zeros
        Assert.Equal(1.27f / 127, scales[2], 1e-7f);
        var q = new sbyte[9];
        Int8Quantizer.QuantizeRows(w, scales, 3, q);
        Assert.Equal(-127, q[1]);
        Assert.Equal(127, q[6]);
        var e = Assert.Throws<ArgumentException>(() => Int8Quantizer.RowScales([1f, float.NaN], 1, 2));
        Assert.Contains("row 0", e.Message);
    }
}
