using Fusion.Quantization;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Quantization;

/// <summary>
/// The int8 Linear reference against the float64 product on fresh random operands at odd sizes: each output within the bound
/// quantization allows, Σₖ (|x|·½s_w + |w|·½sₓ + ¼sₓs_w) (each factor rounded by at most half its step, x inside its threshold)
/// plus float32 rounding.
/// </summary>
public sealed class Int8LinearTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 13, 33)]
    [InlineData(49, 24, 96)]
    public void WithinTheQuantizationBound(int m, int n, int k)
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        float[] x = Uniform(random, m * k, 2f), w = Uniform(random, n * k, 0.3f), bias = Uniform(random, n, 1f);
        float threshold = x.Max(Math.Abs);
        float sx = Int8Quantizer.ScaleFor(threshold);
        var qw = QuantizedWeight.From(w, n, k);
        var y = new float[m * n];
        Int8Linear.Run(x, m, sx, qw, bias, y);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double exact = bias[j], bound = 0, sw = qw.Scales[j];
                for (int p = 0; p < k; p++)
                {
                    double xv = x[i * k + p], wv = w[j * k + p];
                    exact += xv * wv;
                    bound += Math.Abs(xv) * sw / 2 + Math.Abs(wv) * sx / 2 + sx * sw / 4;
                }
                bound += 1e-5 * (Math.Abs(exact) + 1);
                Assert.True(Math.Abs(y[i * n + j] - exact) <= bound, $"y[{i}, {j}] = {y[i * n + j]}, exact {exact}, bound {bound} ({m}×{n}×{k}, seed {seed})");
            }
    }

    [Fact]
    public void ShapesAreChecked()
    {
        var qw = QuantizedWeight.From(new float[6], 2, 3);
        Assert.Contains("[2, 3]", Assert.Throws<ArgumentException>(() => Int8Linear.Run(new float[5], 2, 1f, qw, [], new float[4])).Message);
        Assert.Contains("bias", Assert.Throws<ArgumentException>(() => Int8Linear.Run(new float[6], 2, 1f, qw, [1f], new float[4])).Message);
    }

    private static float[] Uniform(Random random, int count, float range)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * range);
        return values;
    }
}
