using Fusion.Quantization;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Quantization;

/// <summary>
/// The E4M3 codec against the format's definition: known codes, every finite code round-trips, midpoints round to the even code,
/// saturation at ±448, and random floats encode to the nearest code found by brute force over all finite codes.
/// </summary>
public sealed class Float8E4M3Tests
{
    [Theory]
    [InlineData(0x00, 0.0)]
    [InlineData(0x01, 1.0 / 512)]   // smallest subnormal 2⁻⁹
    [InlineData(0x07, 7.0 / 512)]   // largest subnormal
    [InlineData(0x08, 1.0 / 64)]    // smallest normal 2⁻⁶
    [InlineData(0x38, 1.0)]
    [InlineData(0x39, 1.125)]
    [InlineData(0x7E, 448.0)]       // largest finite
    [InlineData(0xFE, -448.0)]
    [InlineData(0xB8, -1.0)]
    public void DecodesKnownCodes(int code, double value) => Assert.Equal(value, Float8E4M3.Decode((byte)code));

    [Fact]
    public void NaNCodesDecodeToNaNAndNaNEncodesToTheNaNCode()
    {
        Assert.True(float.IsNaN(Float8E4M3.Decode(0x7F)));
        Assert.True(float.IsNaN(Float8E4M3.Decode(0xFF)));
        Assert.Equal(Float8E4M3.NaN, Float8E4M3.Encode(float.NaN));
    }

    [Fact]
    public void EveryFiniteCodeRoundTrips()
    {
        for (int code = 0; code < 256; code++)
        {
            if ((code & 0x7F) == 0x7F) continue;
            Assert.Equal((byte)code, Float8E4M3.Encode(Float8E4M3.Decode((byte)code)));
        }
    }

    [Fact]
    public void MidpointsRoundToTheEvenCode()
    {
        for (int code = 0; code < 0x7E; code++)
        {
            double mid = ((double)Float8E4M3.Decode((byte)code) + Float8E4M3.Decode((byte)(code + 1))) / 2;
            byte even = (byte)(code % 2 == 0 ? code : code + 1);
            Assert.Equal(even, Float8E4M3.Encode((float)mid));
            Assert.Equal((byte)(even | 0x80), Float8E4M3.Encode((float)-mid));
        }
    }

    [Theory]
    [InlineData(449f)]
    [InlineData(463.9f)]
    [InlineData(464f)]
    [InlineData(1e6f)]
    [InlineData(float.PositiveInfinity)]
    public void SaturatesAtTheLargestFiniteValue(float value)
    {
        Assert.Equal((byte)0x7E, Float8E4M3.Encode(value));
        Assert.Equal((byte)0xFE, Float8E4M3.Encode(-value));
    }

    [Fact]
    public void RandomFloatsEncodeToTheNearestCode()
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        var finite = Enumerable.Range(0, 0x7F).Select(c => (Code: (byte)c, Value: (double)Float8E4M3.Decode((byte)c))).ToArray();
        for (int i = 0; i < 20_000; i++)
        {
            // Magnitudes spread over the whole range, subnormals included: 2^u for u uniform in [−12, 9].
            float value = (float)(Math.Pow(2, random.NextDouble() * 21 - 12) * (random.Next(2) == 0 ? -1 : 1));
            double magnitude = Math.Min(Math.Abs((double)value), 448);
            var nearest = finite.OrderBy(f => Math.Abs(f.Value - magnitude)).ThenBy(f => f.Code % 2).First();
            byte expected = (byte)(nearest.Code | (value < 0 ? 0x80 : 0));
            Assert.True(expected == Float8E4M3.Encode(value), $"{value:R}: expected 0x{expected:X2}, got 0x{Float8E4M3.Encode(value):X2} (seed {seed})");
        }
    }

    /// <summary>
    /// The compiler's float64 rounding (the Cast-to-f8 operator's reference) and the CPU loop interpreter's (the Fp8 plan's stores on
    /// the CPU) give the codec's value: every midpoint, saturating values, and random floats over the whole range.
    /// </summary>
    [Fact]
    public void CompilerAndInterpreterRoundAsTheCodec()
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        var values = Enumerable.Range(0, 0x7E).Select(c => ((double)Float8E4M3.Decode((byte)c) + Float8E4M3.Decode((byte)(c + 1))) / 2)
            .Concat([0.0, 448, 449, 464, 1e6, float.PositiveInfinity, 1.0 / 1024, 3.0 / 1024])
            .Concat(Enumerable.Range(0, 5000).Select(_ => Math.Pow(2, random.NextDouble() * 24 - 13)))
            .SelectMany(v => new[] { (float)v, -(float)v });
        foreach (float value in values)
        {
            float codec = Float8E4M3.Decode(Float8E4M3.Encode(value));
            Assert.True(codec == (float)Fusion.Compiler.SpecialFunctions.RoundToE4M3(value), $"{value:R}: codec {codec}, compiler {Fusion.Compiler.SpecialFunctions.RoundToE4M3(value)} (seed {seed})");
            Assert.True(codec == ScalarMath.RoundF8(value), $"{value:R}: codec {codec}, interpreter {ScalarMath.RoundF8(value)} (seed {seed})");
        }
        Assert.True(double.IsNaN(Fusion.Compiler.SpecialFunctions.RoundToE4M3(double.NaN)) && float.IsNaN(ScalarMath.RoundF8(float.NaN)));
    }

    [Fact]
    public void WeightScaleMapsTheLargestMagnitudeTo448()
    {
        float[] w = [0.5f, -2.25f, 1f, 0.01f, 0f, 1.5f];
        var q = Fp8Weight.From(w, 2, 3);
        Assert.Equal(2.25f / 448, q.Scale);
        Assert.Equal((byte)0xFE, q.Codes[1]);
        Assert.Equal(0, q.Codes[4]);
        Assert.Throws<ArgumentException>(() => Fp8Weight.From([1f, float.NaN], 1, 2));
    }

    [Theory]
    [InlineData(1, 16, 16)]
    [InlineData(7, 24, 48)]
    public void LinearReferenceIsWithinTheQuantizationBound(int m, int n, int k)
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        float[] x = Enumerable.Range(0, m * k).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        float[] w = Enumerable.Range(0, n * k).Select(_ => (float)(random.NextDouble() - 0.5) * 0.4f).ToArray();
        float[] bias = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble()).ToArray();
        var qw = Fp8Weight.From(w, n, k);
        float sx = Float8E4M3.ScaleFor(2);
        var y = new double[m * n];
        Fp8Linear.Run(x, m, sx, qw, bias, y);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                // E4M3 keeps 3 mantissa bits: each factor within 2⁻⁴ relative (plus the subnormal step) of its value.
                double exact = bias[j], bound = 0;
                for (int p = 0; p < k; p++)
                {
                    double xv = x[i * k + p], wv = w[j * k + p];
                    exact += xv * wv;
                    bound += Math.Abs(xv * wv) * (2.0 / 16 + 1.0 / 256) + (Math.Abs(xv) * qw.Scale + Math.Abs(wv) * sx) / 1024;
                }
                Assert.True(Math.Abs(y[i * n + j] - exact) <= bound + 1e-9, $"y[{i}, {j}] = {y[i * n + j]}, exact {exact}, bound {bound} (seed {seed})");
            }
    }
}
