using Fusion.Testing;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// The CPU interpreter's strided walks (a reduction over a window's taps, each step a whole row of channels) against direct
/// float64 references: a padded depthwise 7×7 (offsets and guards split along the tap, the tap's product fused into the sum, the
/// input's blocks read in place), the same with the tap mixed into a row's term (no split: the expressions are evaluated), a
/// product that two reductions read (not fused), a square through the padded select, and a padded 3×3 stride-2 max pool.
/// Odd widths and channel counts, batch 3, fresh inputs each run.
/// </summary>
public class StridedWalkTests
{
    private const int Batch = 3;

    /// <summary>
    /// A float32 sum of 49 products of values in [−1, 1): rounding stays under 49 · 2⁻²⁴ · Σ|xw| ≈ 3e-6 and the fused multiply-add
    /// only lowers it; any wrong tap or padding gives errors of order 0.1.
    /// </summary>
    private const double Tolerance = 2e-5;

    /// <summary>
    /// Depthwise 7×7, padding 3, on [N, H, W, C] as the generator lowers it. <paramref name="mixedRowTerm"/> writes the input row as
    /// ((v4 / 7) + v1 − 3) mod H, one atom of tap and row (kept as such: the sum may be negative), equal to the row wherever the guard
    /// lets the load read, so the offset is not split along the tap.
    /// <paramref name="body"/> is what follows the select (%3) and the weight (%4); its last value is stored.
    /// </summary>
    private static string Depthwise(int height, int width, int channels, bool mixedRowTerm, string body)
    {
        long pixel = channels, row = (long)width * channels, image = row * height;
        string rowTerm = mixedRowTerm ? $"{row}*(((v4 / 7) + v1 - 3) % {height}) + {3 * row}" : $"{row}*(v4 / 7) + {row}*v1";
        return $"""
            kernel depthwise_{height}x{width}x{channels}
            domain [N, {height}, {width}, {channels}] reduce v4 49
            in in0 f32 [N, {height}, {width}, {channels}]
            in in1 f32 [49, {channels}]
            out out0 f32 [N, {height}, {width}, {channels}]
            %0 = const 0
            %1 = load in0[{pixel}*(v4 % 7) + {rowTerm} + {image}*v0 + {pixel}*v2 + v3 - {3 * row + 3 * pixel}] when 3 <= (v4 / 7) + v1 < {height + 3}; 3 <= (v4 % 7) + v2 < {width + 3} else 0
            %2 = inside 3 <= (v4 / 7) + v1 < {height + 3}; 3 <= (v4 % 7) + v2 < {width + 3}
            %3 = where %2 %1 %0
            %4 = load in1[v3 + {channels}*v4]
            {body}
            store out0[{image}*v0 + {row}*v1 + {pixel}*v2 + v3] = {body.Split('\n')[^1].Split(' ')[0]}
            """;
    }

    private const string SumOfProducts = "%5 = mul %3 %4\n%6 = reduce.sum %5";

    /// <summary>The product read by a sum and a max: computed a step, not fused.</summary>
    private const string SumPlusMaxOfProducts = "%5 = mul %3 %4\n%6 = reduce.sum %5\n%7 = reduce.max %5\n%8 = add %6 %7";

    /// <summary>Σ x² over the window: the product's two operands are the one select.</summary>
    private const string SumOfSquares = "%5 = mul %3 %3\n%6 = reduce.sum %5";

    [Theory]
    [InlineData(9, 7, 5, false)]
    [InlineData(9, 7, 5, true)]
    [InlineData(4, 11, 13, false)] // narrower than the window: every output pixel sees padding
    [InlineData(4, 11, 13, true)]
    public void ADepthwiseConvolutionMatchesItsDefinition(int height, int width, int channels, bool mixedRowTerm)
    {
        int seed = TestData.NewSeed();
        var (x, w, y) = RunDepthwise(seed, height, width, channels, Depthwise(height, width, channels, mixedRowTerm, SumOfProducts));
        Check(seed, y, height, width, channels, (xs, ws) => xs.Zip(ws, (a, b) => a * b).Sum(), x, w);
    }

    [Fact]
    public void AProductTwoReductionsReadIsNotFused()
    {
        int seed = TestData.NewSeed();
        const int h = 6, wd = 9, c = 7;
        var (x, w, y) = RunDepthwise(seed, h, wd, c, Depthwise(h, wd, c, false, SumPlusMaxOfProducts));
        Check(seed, y, h, wd, c, (xs, ws) => xs.Zip(ws, (a, b) => a * b).Sum() + xs.Zip(ws, (a, b) => a * b).Max(), x, w);
    }

    [Fact]
    public void ASquareOfThePaddedSelectIsSummed()
    {
        int seed = TestData.NewSeed();
        const int h = 5, wd = 8, c = 3;
        var (x, w, y) = RunDepthwise(seed, h, wd, c, Depthwise(h, wd, c, false, SumOfSquares));
        Check(seed, y, h, wd, c, (xs, _) => xs.Sum(v => v * v), x, w);
    }

    [Fact]
    public void APaddedStrideTwoMaxPoolMatchesItsDefinition()
    {
        int seed = TestData.NewSeed();
        // x [N, 9, 11, 16] → y [N, 5, 6, 16], 3×3 windows, stride 2, padding 1, −∞ outside.
        var x = TestData.Random(seed, Batch, 9, 11, 16);
        using var xs = x.ToCpu();
        var y = Run("max_pool_3x3_s2", SlidingWalkTests.MaxPool3x3Stride2Ir, xs)[0];
        for (int n = 0; n < Batch; n++)
            for (int oy = 0; oy < 5; oy++)
                for (int ox = 0; ox < 6; ox++)
                    for (int ch = 0; ch < 16; ch++)
                    {
                        double max = double.NegativeInfinity;
                        for (int t = 0; t < 9; t++)
                        {
                            int iy = 2 * oy + t / 3 - 1, ix = 2 * ox + t % 3 - 1;
                            if (iy >= 0 && iy < 9 && ix >= 0 && ix < 11) max = Math.Max(max, x.Data[((n * 9 + iy) * 11 + ix) * 16 + ch]);
                        }
                        Assert.True((float)max == (float)y[((n * 5 + oy) * 6 + ox) * 16 + ch], $"seed {seed}: ({n}, {oy}, {ox}, {ch})");
                    }
    }

    private static (RefTensor X, RefTensor W, double[] Y) RunDepthwise(int seed, int height, int width, int channels, string ir)
    {
        var x = TestData.Random(seed, Batch, height, width, channels);
        var w = TestData.Random(seed + 1, 49, channels);
        using var xs = x.ToCpu();
        using var ws = w.ToCpu();
        return (x, w, Run($"depthwise_{height}x{width}x{channels}", ir, xs, ws)[0]);
    }

    private static double[][] Run(string name, string ir, params CpuTensor[] inputs) => RunOnCpu(name, ir, Batch, inputs);

    /// <summary>The kernel <paramref name="ir"/> through the CPU backend in float32 at <paramref name="batch"/>: its outputs' values.</summary>
    internal static double[][] RunOnCpu(string name, string ir, int batch, params CpuTensor[] inputs)
    {
        var kernel = new GeneratedKernel(name, ir, "", "256,1024,5,1");
        var outputs = CpuBackend.Instance.Run(kernel, batch, DType.Float32, inputs);
        try
        {
            return outputs.Select(o => RefTensor.FromCpu((CpuTensor)o).Data).ToArray();
        }
        finally
        {
            foreach (var t in outputs) t.Dispose();
        }
    }

    /// <summary>Each output against <paramref name="reduce"/> of its window's taps (padding as 0) and the weights of its channel.</summary>
    private static void Check(int seed, double[] y, int height, int width, int channels, Func<double[], double[], double> reduce, RefTensor x, RefTensor w)
    {
        var taps = new double[49];
        var weights = new double[49];
        for (int n = 0; n < Batch; n++)
            for (int oy = 0; oy < height; oy++)
                for (int ox = 0; ox < width; ox++)
                    for (int ch = 0; ch < channels; ch++)
                    {
                        for (int t = 0; t < 49; t++)
                        {
                            int iy = oy + t / 7 - 3, ix = ox + t % 7 - 3;
                            bool inside = iy >= 0 && iy < height && ix >= 0 && ix < width;
                            taps[t] = inside ? x.Data[((n * height + iy) * width + ix) * channels + ch] : 0;
                            weights[t] = w.Data[t * channels + ch];
                        }
                        double expected = reduce(taps, weights);
                        double got = y[((n * height + oy) * width + ox) * channels + ch];
                        Assert.True(Math.Abs(got - expected) <= Tolerance, $"seed {seed}: ({n}, {oy}, {ox}, {ch}) is {got}, expected {expected}");
                    }
    }
}
