using Fusion.Testing;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// The CPU interpreter's strided walks whose rows cover several pixels (a row of pixels × channels, each tap one step over the
/// whole row) against direct float64 references: depthwise convolutions with odd channel counts (not multiples of 8 or 16) and
/// widths that the row's pixels do not divide (the last row of a line is shorter), padding at both edges, stride 2 (each pixel's
/// block apart from the next: read a pixel at a time), dilation 2, windows wider than the image, a per-channel bias added after
/// the sum (a channel row repeated for each pixel), a product read by two reductions (computed over the wide row, not fused), the
/// square of the padded select, a per-tap scalar weight, and a padded stride-2 max pool. Batch 2, fresh inputs each run.
/// </summary>
public class WideStridedWalkTests
{
    private const int Batch = 2;

    /// <summary>
    /// A float32 sum of at most 49 products of values in [−1, 1) (plus a bias in [−1, 1)): rounding stays under 50 · 2⁻²⁴ · 50 ≈ 1.5e-4
    /// at worst and is about 3e-6 in practice; any wrong tap, pixel or padding gives errors of order 0.1.
    /// </summary>
    private const double Tolerance = 2e-5;

    /// <summary>A convolution's geometry: a k × k window, stride, dilation and padding on an h × w image of c channels.</summary>
    public sealed record Geometry(int H, int W, int C, int K, int Stride, int Dilation, int Pad)
    {
        public int OH => (H + 2 * Pad - Dilation * (K - 1) - 1) / Stride + 1;

        public int OW => (W + 2 * Pad - Dilation * (K - 1) - 1) / Stride + 1;

        public int Taps => K * K;

        /// <summary>The input index of tap t of output (oy, ox), or -1 in the padding.</summary>
        public int Input(int n, int oy, int ox, int t, int ch)
        {
            int iy = Stride * oy + Dilation * (t / K) - Pad, ix = Stride * ox + Dilation * (t % K) - Pad;
            return iy >= 0 && iy < H && ix >= 0 && ix < W ? ((n * H + iy) * W + ix) * C + ch : -1;
        }
    }

    /// <summary>
    /// The strided walk's loop IR as the generator lowers a depthwise convolution or pooling on [N, H, W, C]: the input load (its
    /// padding value <paramref name="otherwise"/>) and, where <paramref name="select"/>, the padded select of it (%3) whose
    /// predicate the walk skips, then <paramref name="body"/>, whose last value is stored. %4 is the weight of the tap and channel.
    /// </summary>
    private static string Ir(Geometry g, string name, string body, bool select = true, string otherwise = "0", string extraInputs = "")
    {
        long pixel = g.C, row = (long)g.W * g.C, image = row * g.H;
        long orow = (long)g.OW * g.C, oimage = orow * g.OH;
        string ky = $"{g.Dilation}*(v4 / {g.K})", kx = $"{g.Dilation}*(v4 % {g.K})";
        string bounds = $"{g.Pad} <= {ky} + {g.Stride}*v1 < {g.H + g.Pad}; {g.Pad} <= {kx} + {g.Stride}*v2 < {g.W + g.Pad}";
        string load = $"load in0[{row * g.Dilation}*(v4 / {g.K}) + {pixel * g.Dilation}*(v4 % {g.K}) + {image}*v0 + {row * g.Stride}*v1 + {pixel * g.Stride}*v2 + v3 - {g.Pad * (row + pixel)}] when {bounds} else {otherwise}";
        string head = select
            ? $"%0 = const 0\n%1 = {load}\n%2 = inside {bounds}\n%3 = where %2 %1 %0"
            : $"%0 = const 0\n%1 = const 0\n%2 = const 0\n%3 = {load}";
        string last = body.Split('\n')[^1].Split(' ')[0];
        return $"""
            kernel {name}
            domain [N, {g.OH}, {g.OW}, {g.C}] reduce v4 {g.Taps}
            in in0 f32 [N, {g.H}, {g.W}, {g.C}]
            in in1 f32 [{g.Taps}, {g.C}]
            {extraInputs}out out0 f32 [N, {g.OH}, {g.OW}, {g.C}]
            {head}
            %4 = load in1[v3 + {g.C}*v4]
            {body}
            store out0[{oimage}*v0 + {orow}*v1 + {pixel}*v2 + v3] = {last}
            """;
    }

    /// <summary>
    /// 7×7 padding 3 at 200 channels: 7 pixels a row, 17 = 6 + 6 + 5 wide; at 130 channels, 23 = 8 + 8 + 7; at 13 channels the
    /// whole line; stride 2 (blocks 2C apart; 331 channels: 10 = 4 + 4 + 2), dilation 2, a 5-wide image under a 7-wide window.
    /// </summary>
    public static TheoryData<int, int, int, int, int, int, int> Geometries => new()
    {
        { 9, 17, 200, 7, 1, 1, 3 },
        { 6, 23, 130, 7, 1, 1, 3 },
        { 5, 11, 13, 7, 1, 1, 3 },
        { 4, 5, 24, 7, 1, 1, 3 },
        { 9, 19, 331, 3, 2, 1, 1 },
        { 8, 21, 77, 3, 1, 2, 2 },
        { 7, 26, 300, 5, 2, 2, 3 },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void ADepthwiseConvolutionOverSeveralPixelsMatchesItsDefinition(int h, int w, int c, int k, int stride, int dilation, int pad)
    {
        var g = new Geometry(h, w, c, k, stride, dilation, pad);
        int seed = TestData.NewSeed();
        var x = TestData.Random(seed, Batch, h, w, c);
        var wt = TestData.Random(seed + 1, g.Taps, c);
        var y = Run(Ir(g, "wide_depthwise", "%5 = mul %3 %4\n%6 = reduce.sum %5"), x, wt);
        Check(seed, g, y, (n, oy, ox, ch) => Taps(g, x, n, oy, ox, ch).Select((v, t) => v * wt.Data[t * c + ch]).Sum());
    }

    [Theory]
    [InlineData(9, 17, 200)]
    [InlineData(5, 13, 45)]
    public void ABiasAfterTheSumIsAddedToEveryPixel(int h, int w, int c)
    {
        var g = new Geometry(h, w, c, 7, 1, 1, 3);
        int seed = TestData.NewSeed();
        var x = TestData.Random(seed, Batch, h, w, c);
        var wt = TestData.Random(seed + 1, g.Taps, c);
        var bias = TestData.Random(seed + 2, c);
        string ir = Ir(g, "wide_depthwise_bias", "%5 = mul %3 %4\n%6 = reduce.sum %5\n%7 = load in2[v3]\n%8 = add %6 %7", extraInputs: $"in in2 f32 [{c}]\n");
        var y = Run(ir, x, wt, bias);
        Check(seed, g, y, (n, oy, ox, ch) => Taps(g, x, n, oy, ox, ch).Select((v, t) => v * wt.Data[t * c + ch]).Sum() + bias.Data[ch]);
    }

    [Fact]
    public void AProductTwoReductionsReadIsComputedOverTheWideRow()
    {
        var g = new Geometry(6, 15, 101, 7, 1, 1, 3);
        int seed = TestData.NewSeed();
        var x = TestData.Random(seed, Batch, g.H, g.W, g.C);
        var wt = TestData.Random(seed + 1, g.Taps, g.C);
        var y = Run(Ir(g, "wide_sum_max", "%5 = mul %3 %4\n%6 = reduce.sum %5\n%7 = reduce.max %5\n%8 = add %6 %7"), x, wt);
        Check(seed, g, y, (n, oy, ox, ch) =>
        {
            var products = Taps(g, x, n, oy, ox, ch).Select((v, t) => v * wt.Data[t * g.C + ch]).ToArray();
            return products.Sum() + products.Max();
        });
    }

    [Fact]
    public void ASquareOfThePaddedSelectIsSummedOverTheWideRow()
    {
        var g = new Geometry(5, 14, 120, 7, 1, 1, 3);
        int seed = TestData.NewSeed();
        var x = TestData.Random(seed, Batch, g.H, g.W, g.C);
        var wt = TestData.Random(seed + 1, g.Taps, g.C);
        var y = Run(Ir(g, "wide_squares", "%5 = mul %3 %3\n%6 = reduce.sum %5"), x, wt);
        Check(seed, g, y, (n, oy, ox, ch) => Taps(g, x, n, oy, ox, ch).Sum(v => v * v));
    }

    [Fact]
    public void AScalarWeightPerTapMultipliesThePaddingToo()
    {
        // Padding 1.5 (the load's own value outside the image, no select), times a weight of the tap alone.
        var g = new Geometry(6, 13, 150, 3, 2, 1, 1);
        int seed = TestData.NewSeed();
        var x = TestData.Random(seed, Batch, g.H, g.W, g.C);
        var wt = TestData.Random(seed + 1, g.Taps, g.C);
        var tapWeights = TestData.Random(seed + 2, g.Taps);
        var y = Run(Ir(g, "wide_tap_weight", "%5 = load in2[v4]\n%6 = mul %3 %5\n%7 = reduce.sum %6", select: false, otherwise: "1.5", extraInputs: $"in in2 f32 [{g.Taps}]\n"), x, wt, tapWeights);
        Check(seed, g, y, (n, oy, ox, ch) => Taps(g, x, n, oy, ox, ch, padding: 1.5).Select((v, t) => v * tapWeights.Data[t]).Sum());
    }

    [Theory]
    [InlineData(17, 23, 200)]
    [InlineData(9, 11, 70)]
    public void APaddedStrideTwoMaxPoolOverSeveralPixelsMatchesItsDefinition(int h, int w, int c)
    {
        var g = new Geometry(h, w, c, 3, 2, 1, 1);
        int seed = TestData.NewSeed();
        var x = TestData.Random(seed, Batch, h, w, c);
        var wt = TestData.Random(seed + 1, g.Taps, c); // read by nothing the store needs
        var y = Run(Ir(g, "wide_max_pool", "%5 = reduce.max %3", select: false, otherwise: "-Infinity"), x, wt);
        // A max rounds nothing: only the inputs' own float32 rounding (under 6e-8 in [−1, 1)).
        Check(seed, g, y, (n, oy, ox, ch) => Taps(g, x, n, oy, ox, ch, double.NegativeInfinity).Max(), tolerance: 1e-7);
    }

    /// <summary>The window's values of output (n, oy, ox, ch), <paramref name="padding"/> outside the image.</summary>
    private static double[] Taps(Geometry g, RefTensor x, int n, int oy, int ox, int ch, double padding = 0) =>
        Enumerable.Range(0, g.Taps).Select(t => g.Input(n, oy, ox, t, ch) is >= 0 and var i ? x.Data[i] : padding).ToArray();

    private static double[] Run(string ir, params RefTensor[] inputs)
    {
        var tensors = inputs.Select(t => t.ToCpu()).ToArray();
        try
        {
            return StridedWalkTests.RunOnCpu(ir.Split('\n')[0]["kernel ".Length..].Trim(), ir, Batch, tensors)[0];
        }
        finally
        {
            foreach (var t in tensors) t.Dispose();
        }
    }

    private static void Check(int seed, Geometry g, double[] y, Func<int, int, int, int, double> expected, double tolerance = Tolerance)
    {
        Assert.Equal(Batch * g.OH * g.OW * g.C, y.Length);
        for (int n = 0; n < Batch; n++)
            for (int oy = 0; oy < g.OH; oy++)
                for (int ox = 0; ox < g.OW; ox++)
                    for (int ch = 0; ch < g.C; ch++)
                    {
                        double want = expected(n, oy, ox, ch);
                        double got = y[((n * g.OH + oy) * g.OW + ox) * g.C + ch];
                        Assert.True(Math.Abs(got - want) <= tolerance, $"seed {seed}, {g}: ({n}, {oy}, {ox}, {ch}) is {got}, expected {want}");
                    }
    }
}
