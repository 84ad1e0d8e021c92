using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>Elementwise operators, normalizations and reductions against the float64 reference.</summary>
public class ElementwiseTests
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;

    // Tolerances for f32 (f16 always uses Precision.Half):
    // one rounding of a float32 result is ≤ 6e-8 relative, so single-op maps (Mul, Relu, GELU, Add) get 1e-6 + 1e-6·|b|;
    // LayerNorm/Softmax/Mean sum up to a few hundred float32 terms first, so 1e-5 + 1e-5·|b|.
    private const double Map = 1e-6;
    private const double Sum = 1e-5;

    public static TheoryData<DType> DTypes => new() { DType.Float32, DType.Float16 };

    [Theory]
    [MemberData(nameof(DTypes))]
    public void AddBroadcastsLikeNumPy(DType dtype)
    {
        int[][][] cases =
        [
            [[3, 5, 7], [3, 5, 7]],
            [[3, 5, 7], [7]],
            [[4, 1, 6], [5, 1]],
            [[2, 3, 4, 49, 49], [1, 3, 1, 49, 49]], // the shifted-window mask added to attention scores
            [[6, 1], [1, 9]],
            [[2, 3], [2, 1, 3]],
        ];
        foreach (var c in cases)
        {
            int seed = TestData.NewSeed();
            var a = Precision.Input(seed, dtype, c[0]);
            var b = Precision.Input(seed + 1, dtype, c[1]);
            Precision.Check(dtype, Ref.Add(a, b), Map, Map, $"Add {a}+{b}", t => Cpu.Add(t[0], t[1]), a, b);
        }
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void MulReluGeluMatchReference(DType dtype)
    {
        int seed = TestData.NewSeed();
        // [−6, 6) exercises GELU's erf in both its series and its continued-fraction ranges.
        var x = TestData.Uniform(seed, -6, 6, 7, 131).RoundedTo(dtype);
        Precision.Check(dtype, Ref.Mul(x, 0.17677669529663687), Map, Map, "Mul", t => Cpu.Mul(t[0], 0.17677669529663687f), x);
        Precision.Check(dtype, Ref.Relu(x), 0, 0, "Relu", t => Cpu.Relu(t[0]), x);
        Precision.Check(dtype, Ref.Gelu(x), Map, Map, "Gelu", t => Cpu.Gelu(t[0]), x);
    }

    [Fact]
    public void KernelErfIsAccurateToFloat32()
    {
        // The float32 twin must be within 1e-7 of the double reference everywhere (the brief's bound).
        double worst = 0, at = 0;
        for (double v = -7; v <= 7; v += 1.0 / 1024)
        {
            double error = Math.Abs(Kernels.Cpu.Gelu.Erf(v) - Ref.Erf(v));
            if (error > worst) (worst, at) = (error, v);
        }
        Assert.True(worst < 1e-7, $"kernel erf off by {worst:G3} at {at}");
    }

    [Fact]
    public void SoftmaxOfAMaskedRowHasNoSubnormalProbabilities()
    {
        // A score 100 or 1000 below the row's max (an attention mask) would give e^-100 ≈ 4e-44, a subnormal float32 that
        // the CPU then multiplies slowly; the softmax clamps its exponents at −80, so such entries are tiny normal numbers.
        float[] scores = [0.5f, -100f, 1.25f, -1000f, float.NegativeInfinity, 0f, -99.5f];
        var p = new float[scores.Length];
        Kernels.Cpu.Softmax.Rows(scores, p, 1, scores.Length);
        Assert.All(p, v => Assert.True(v == 0 || float.IsNormal(v), $"{v:R} is subnormal"));
        double sum = 0;
        foreach (var v in p) sum += v;
        Assert.True(Math.Abs(sum - 1) < 1e-6, $"probabilities sum to {sum}");
        var expected = Ref.Softmax(new RefTensor([1, scores.Length], scores.Select(v => (double)v).ToArray()));
        for (int i = 0; i < p.Length; i++) Assert.True(Math.Abs(p[i] - expected.Data[i]) < 1e-7, $"p[{i}] = {p[i]}, expected {expected.Data[i]}");
    }

    [Fact]
    public void VectorErfIsAccurateToFloat32()
    {
        // The vectorized erf the CPU twins of generated kernels use: the same 1e-7 bound, on float inputs over [−7, 7] in
        // steps of 1/1024 (an odd count, so the padded tail runs too), and the special values.
        var inputs = new List<float>();
        for (double v = -7; v <= 7; v += 1.0 / 1024) inputs.Add((float)v);
        inputs.AddRange([0f, -0f, 1e-30f, -1e-30f, 0.9999999f, 1f, 1.0000001f, 30f, -30f, 0.5f]);
        var x = inputs.ToArray();
        Assert.Equal(1, x.Length % 2);
        var y = new float[x.Length];
        Kernels.Cpu.VectorMath.Erf(x, y);
        double worst = 0, at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double error = Math.Abs(y[i] - Ref.Erf(x[i]));
            if (error > worst) (worst, at) = (error, x[i]);
        }
        TestContext.Current.SendDiagnosticMessage($"vector erf: worst absolute error {worst:G3} at x = {at}");
        Assert.True(worst < 1e-7, $"vector erf off by {worst:G3} at {at}");
        int tiny = inputs.IndexOf(1e-30f);
        Assert.True(Math.Abs(y[tiny] / 1e-30 - 1.1283791670955126) < 1e-6, "erf(1e-30) keeps its relative accuracy"); // 2/√π · x
        var special = new float[3];
        Kernels.Cpu.VectorMath.Erf([float.NaN, float.PositiveInfinity, float.NegativeInfinity], special);
        Assert.True(float.IsNaN(special[0]));
        Assert.Equal([1f, -1f], special[1..]);

        // A vector computes only the branches its lanes take (all near zero, all further out, or both): the same inputs shuffled, so
        // most vectors mix the two, give the same bits; a NaN among near lanes stays NaN and leaves its neighbours alone.
        int seed = TestData.NewSeed();
        var order = Enumerable.Range(0, x.Length).ToArray();
        new Random(seed).Shuffle(order);
        var shuffled = new float[x.Length];
        Kernels.Cpu.VectorMath.Erf(order.Select(i => x[i]).ToArray(), shuffled);
        for (int j = 0; j < order.Length; j++)
            Assert.True(BitConverter.SingleToInt32Bits(shuffled[j]) == BitConverter.SingleToInt32Bits(y[order[j]]), $"seed {seed}: erf({x[order[j]]}) is {shuffled[j]} shuffled, {y[order[j]]} in order");
        var nearWithNaN = Enumerable.Range(0, 64).Select(i => i == 5 ? float.NaN : (i - 32) / 64f).ToArray();
        var nearOut = new float[nearWithNaN.Length];
        Kernels.Cpu.VectorMath.Erf(nearWithNaN, nearOut);
        Assert.True(float.IsNaN(nearOut[5]));
        for (int i = 0; i < nearOut.Length; i++)
            if (i != 5) Assert.True(Math.Abs(nearOut[i] - Ref.Erf(nearWithNaN[i])) < 1e-7, $"erf({nearWithNaN[i]}) beside a NaN is {nearOut[i]}");
    }

    [Theory]
    [InlineData(0.5, 0.5204998778130465)]
    [InlineData(1.0, 0.8427007929497149)]
    [InlineData(2.0, 0.9953222650189527)]
    [InlineData(3.5, 0.9999992569016276)]
    [InlineData(-0.1, -0.1124629160182849)]
    public void ReferenceErfMatchesTables(double x, double expected)
    {
        // Values from standard erf tables (Abramowitz & Stegun, 16+ digit computer-algebra values).
        Assert.True(Math.Abs(Ref.Erf(x) - expected) < 1e-15, $"Ref.Erf({x}) = {Ref.Erf(x):R}, expected {expected:R}");
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void LayerNormMatchesReference(DType dtype)
    {
        foreach (int c in new[] { 1, 7, 96, 130 })
        {
            int seed = TestData.NewSeed();
            // An offset mean checks that the variance is computed around the mean, not from E[x²] − E[x]².
            var x = TestData.Uniform(seed, 2, 4, 3, 37, c).RoundedTo(dtype);
            var w = Precision.Input(seed + 1, dtype, c);
            var b = Precision.Input(seed + 2, dtype, c);
            Precision.Check(dtype, Ref.LayerNorm(x, w, b, 1e-5), Sum, Sum, $"LayerNorm C={c}", t => Cpu.LayerNorm(t[0], t[1], t[2], 1e-5f), x, w, b);
        }
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void SoftmaxMatchesReference(DType dtype)
    {
        foreach (int n in new[] { 1, 7, 49, 257 })
        {
            int seed = TestData.NewSeed();
            // Large logits: without max subtraction exp would overflow float32.
            var x = TestData.Uniform(seed, -90, 90, 5, 11, n).RoundedTo(dtype);
            Precision.Check(dtype, Ref.Softmax(x), Sum, Sum, $"Softmax N={n}", t => Cpu.Softmax(t[0]), x);
        }
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void MeanMatchesReference(DType dtype)
    {
        int seed = TestData.NewSeed();
        var x = Precision.Input(seed, dtype, 3, 7, 9, 5);
        foreach (var (first, count) in new[] { (1, 2), (0, 1), (3, 1), (0, 4), (2, 2) })
        {
            var expected = Ref.Mean(x, first, count);
            Precision.Check(dtype, expected, Sum, Sum, $"Mean axes [{first}, {first + count})", t => Cpu.Mean(t[0], first, count), x);
        }
        Precision.Check(dtype, Ref.Mean(x, 1, 2), Sum, Sum, "F.Mean", t => F.Mean(t[0], 1, 2), x);
    }

    [Fact]
    public void CastRoundsToHalfAndBack()
    {
        int seed = TestData.NewSeed();
        var x = TestData.Uniform(seed, -100, 100, 4, 33);
        using var f32 = x.ToCpu();
        using var f16 = Cpu.Cast(f32, DType.Float16);
        Tolerance.AssertClose(f16, x.RoundedTo(DType.Float16), 0, 0, "Cast to f16");
        using var back = Cpu.Cast(f16, DType.Float32);
        Assert.Equal(DType.Float32, back.DType);
        Tolerance.AssertClose(back, x.RoundedTo(DType.Float16), 0, 0, "Cast back to f32");
        using var same = Cpu.Cast(f32, DType.Float32);
        Assert.NotSame(f32, same);
        Tolerance.AssertClose(same, x, 0, 0, "Cast to the same dtype");
    }
}
