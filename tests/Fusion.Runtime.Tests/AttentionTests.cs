using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// F.Attention and the attention template's CPU twin against the float64 definition (AttentionReference): sequence lengths 1 to
/// 577 with Tq ≠ Tk, head dims 32/64/80/128 and odd ones, causal on and off, a bias of each broadcast shape, batches 1 and 3, the
/// packed and merged layouts, and the errors a wrong call gets.
/// </summary>
public sealed class AttentionTests
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;

    /// <summary>
    /// Float32: outputs are convex combinations of v (|v| ≤ 1) and the scores are float32 dot products of d terms of magnitude ≤ 1
    /// scaled by 1/√d, so the error is a few ulps per step: atol 2e-5 + rtol 1e-4 leaves an order of magnitude while a wrong index,
    /// mask or softmax row gives errors of order 0.1.
    /// </summary>
    private const double Atol = 2e-5, Rtol = 1e-4;

    /// <summary>Float16 inputs and output (float32 inside): one rounding of the result, ~5e-4 relative; 2e-3 on the relative L2.</summary>
    private const double F16RelativeL2 = 2e-3;

    public static TheoryData<int, int, int, int, bool, bool> Cases() => new()
    {
        // batch, Tq, Tk, d, causal, bias
        { 1, 1, 1, 32, false, false },
        { 3, 7, 7, 64, true, false },
        { 1, 7, 65, 80, false, true },
        { 3, 65, 65, 128, true, true },
        { 1, 197, 197, 64, false, false },
        { 3, 65, 197, 32, false, true },
        { 1, 197, 65, 80, true, true },
        { 1, 577, 577, 64, true, false },
        { 1, 33, 40, 20, false, true }, // a head dim that is not a multiple of 8: the guarded path on CUDA
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void AttentionMatchesTheDefinition(int batch, int tq, int tk, int d, bool causal, bool hasBias)
    {
        const int heads = 2;
        int seed = TestData.NewSeed();
        var q = TestData.Random(seed, batch, heads, tq, d);
        var k = TestData.Random(seed + 1, batch, heads, tk, d);
        var v = TestData.Random(seed + 2, batch, heads, tk, d);
        var bias = hasBias ? TestData.Uniform(seed + 3, -2, 2, heads, tq, tk) : null;
        double scale = 1 / Math.Sqrt(d);
        var expected = AttentionReference.Compute(q, k, v, bias, scale, causal);
        using var scope = new TensorScope();
        var result = scope.Add(bias is null
            ? F.Attention(scope.Add(q.ToCpu()), scope.Add(k.ToCpu()), scope.Add(v.ToCpu()), (float)scale, causal)
            : F.Attention(scope.Add(q.ToCpu()), scope.Add(k.ToCpu()), scope.Add(v.ToCpu()), scope.Add(bias.ToCpu()), (float)scale, causal));
        Tolerance.AssertClose(result, expected, Atol, Rtol, $"attention B={batch} Tq={tq} Tk={tk} d={d} causal={causal} bias={hasBias} (seed {seed})");
    }

    [Fact]
    public void Float16AttentionRoundsOnce()
    {
        int seed = TestData.NewSeed();
        var q = TestData.Random(seed, DType.Float16, 3, 4, 50, 64);
        var k = TestData.Random(seed + 1, DType.Float16, 3, 4, 50, 64);
        var v = TestData.Random(seed + 2, DType.Float16, 3, 4, 50, 64);
        var expected = AttentionReference.Compute(q, k, v, null, 0.125, causal: true);
        using var scope = new TensorScope();
        var result = scope.Add(F.Attention(scope.Add(q.ToCpu(DType.Float16)), scope.Add(k.ToCpu(DType.Float16)), scope.Add(v.ToCpu(DType.Float16)), 0.125f, causal: true));
        Assert.Equal(DType.Float16, result.DType);
        double error = Tolerance.RelativeL2(scope.Add(Cpu.Cast(result, DType.Float32)), expected);
        Assert.True(error <= F16RelativeL2, $"f16 attention: relative L2 {error:G3} (seed {seed})");
    }

    /// <summary>Each bias shape the kernel broadcasts: [Tq, Tk], [1, Tq, Tk], [H, Tq, Tk], [1, H, Tq, Tk], [B, 1, Tq, Tk], [B, H, Tq, Tk].</summary>
    [Theory]
    [InlineData(new[] { 9, 11 })]
    [InlineData(new[] { 1, 9, 11 })]
    [InlineData(new[] { 3, 9, 11 })]
    [InlineData(new[] { 1, 3, 9, 11 })]
    [InlineData(new[] { 2, 1, 9, 11 })]
    [InlineData(new[] { 2, 3, 9, 11 })]
    public void EveryBiasShapeBroadcasts(int[] biasShape)
    {
        int seed = TestData.NewSeed();
        var q = TestData.Random(seed, 2, 3, 9, 16);
        var k = TestData.Random(seed + 1, 2, 3, 11, 16);
        var v = TestData.Random(seed + 2, 2, 3, 11, 16);
        var bias = TestData.Uniform(seed + 3, -3, 3, biasShape);
        var expected = AttentionReference.Compute(q, k, v, bias, 0.25, causal: false);
        using var scope = new TensorScope();
        var result = scope.Add(F.Attention(scope.Add(q.ToCpu()), scope.Add(k.ToCpu()), scope.Add(v.ToCpu()), scope.Add(bias.ToCpu()), 0.25f));
        Tolerance.AssertClose(result, expected, Atol, Rtol, $"bias [{string.Join(", ", biasShape)}] (seed {seed})");
    }

    /// <summary>
    /// q, k, v read straight from a packed projection [B, T, 3·H·d] or from three [B, T, H·d] projections, the result written with
    /// heads merged [B, T, H·d] or as [B, H, T, d].
    /// </summary>
    [Theory]
    [InlineData(1, 17, 5, 8, false)]
    [InlineData(3, 65, 3, 64, true)]
    public void PackedAndMergedLayoutsReadAndWriteInPlace(int batch, int tokens, int heads, int d, bool causal)
    {
        int seed = TestData.NewSeed();
        var q = TestData.Random(seed, batch, heads, tokens, d);
        var k = TestData.Random(seed + 1, batch, heads, tokens, d);
        var v = TestData.Random(seed + 2, batch, heads, tokens, d);
        var expected = AttentionReference.Compute(q, k, v, null, 0.3, causal);
        var kernel = AttentionKernels.For(d, causal, bias: false);
        using var scope = new TensorScope();
        var qkv = scope.Add(AttentionReference.Pack(q, k, v).ToCpu());
        var merged = scope.Add(Cpu.Attention(qkv, qkv, qkv, null, new AttentionLayout(Packed: true, Merged: true, heads, d), 0.3f, causal, kernel));
        Tolerance.AssertClose(merged, AttentionReference.Merge(expected), Atol, Rtol, $"packed → merged (seed {seed})");
        var split = scope.Add(Cpu.Attention(qkv, qkv, qkv, null, new AttentionLayout(Packed: true, Heads: heads, HeadDim: d), 0.3f, causal, kernel));
        Tolerance.AssertClose(split, expected, Atol, Rtol, $"packed → [B, H, T, d] (seed {seed})");
        var separate = scope.Add(Cpu.Attention(scope.Add(q.ToCpu()), scope.Add(k.ToCpu()), scope.Add(v.ToCpu()), null, new AttentionLayout(Merged: true), 0.3f, causal, kernel));
        Tolerance.AssertClose(separate, AttentionReference.Merge(expected), Atol, Rtol, $"separate → merged (seed {seed})");
        // Token-major: each of q, k, v as its own projection writes it, [B, T, H·d].
        var tq = scope.Add(AttentionReference.Merge(q).ToCpu());
        var tk = scope.Add(AttentionReference.Merge(k).ToCpu());
        var tv = scope.Add(AttentionReference.Merge(v).ToCpu());
        var tokenMajor = scope.Add(Cpu.Attention(tq, tk, tv, null, new AttentionLayout(Merged: true, Heads: heads, HeadDim: d, TokenMajor: true), 0.3f, causal, kernel));
        Tolerance.AssertClose(tokenMajor, AttentionReference.Merge(expected), Atol, Rtol, $"token-major → merged (seed {seed})");
    }

    /// <summary>
    /// The unfused chain the CUDA backend runs for float32 operands (<see cref="FusedChains.Attention"/>), here through the CPU
    /// backend's operators, in every layout: the same results as the definition.
    /// </summary>
    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, true, true)]
    [InlineData(false, true, true)]
    public void TheUnfusedChainGivesTheSameAttentionInEveryLayout(bool packed, bool merged, bool causal)
    {
        const int batch = 2, heads = 3, tokens = 11, d = 8;
        int seed = TestData.NewSeed();
        var q = TestData.Random(seed, batch, heads, tokens, d);
        var k = TestData.Random(seed + 1, batch, heads, tokens, d);
        var v = TestData.Random(seed + 2, batch, heads, tokens, d);
        var bias = TestData.Uniform(seed + 3, -2, 2, heads, tokens, tokens);
        var expected = AttentionReference.Compute(q, k, v, bias, 0.3, causal);
        using var scope = new TensorScope();
        var b = scope.Add(bias.ToCpu());
        Tensor result;
        if (packed)
        {
            var qkv = scope.Add(AttentionReference.Pack(q, k, v).ToCpu());
            result = scope.Add(FusedChains.Attention(Cpu, qkv, qkv, qkv, b, new AttentionLayout(true, merged, heads, d), 0.3f, causal));
        }
        else
        {
            var (tq, tk, tv) = (scope.Add(AttentionReference.Merge(q).ToCpu()), scope.Add(AttentionReference.Merge(k).ToCpu()), scope.Add(AttentionReference.Merge(v).ToCpu()));
            result = scope.Add(FusedChains.Attention(Cpu, tq, tk, tv, b, new AttentionLayout(Merged: merged, Heads: heads, HeadDim: d, TokenMajor: true), 0.3f, causal));
        }
        Tolerance.AssertClose(result, merged ? AttentionReference.Merge(expected) : expected, Atol, Rtol, $"unfused chain packed={packed} merged={merged} causal={causal} (seed {seed})");
    }

    [Fact]
    public void ARowWithEveryKeyMaskedIsZero()
    {
        int seed = TestData.NewSeed();
        var q = TestData.Random(seed, 1, 1, 2, 8);
        var kv = TestData.Random(seed + 1, 1, 1, 3, 8);
        var bias = new RefTensor([2, 3], [double.NegativeInfinity, double.NegativeInfinity, double.NegativeInfinity, 0, 0, 0]);
        using var scope = new TensorScope();
        var keys = scope.Add(kv.ToCpu());
        var result = scope.Add(F.Attention(scope.Add(q.ToCpu()), keys, keys, scope.Add(bias.ToCpu()), 1f));
        var values = ((CpuTensor)result).ToFloatArray();
        Assert.All(values.Take(8), x => Assert.Equal(0f, x));
        Tolerance.AssertClose(result, AttentionReference.Compute(q, kv, kv, bias, 1, causal: false), Atol, Rtol, $"masked row (seed {seed})");
    }

    [Fact]
    public void WrongOperandsAreRefusedByName()
    {
        using var scope = new TensorScope();
        var q = scope.Add(TestData.Random(1, 2, 3, 5, 8).ToCpu());
        var k = scope.Add(TestData.Random(2, 2, 3, 6, 8).ToCpu());
        var shortV = scope.Add(TestData.Random(3, 2, 3, 5, 8).ToCpu());
        var e = Assert.Throws<TensorMismatchException>(() => F.Attention(q, k, shortV, 1f));
        Assert.Contains("Attention v", e.Message);
        var badBias = scope.Add(TestData.Random(4, 4, 5, 6).ToCpu());
        e = Assert.Throws<TensorMismatchException>(() => F.Attention(q, k, scope.Add(TestData.Random(5, 2, 3, 6, 8).ToCpu()), badBias, 1f));
        Assert.Contains("Attention bias", e.Message);
        e = Assert.Throws<TensorMismatchException>(() => F.Attention(scope.Add(TestData.Random(6, 3, 5, 8).ToCpu()), k, k, 1f));
        Assert.Contains("Attention q", e.Message);
        var wrongKernel = AttentionKernels.For(16, causal: false, bias: false);
        var f = Assert.Throws<FusionException>(() => Cpu.Attention(q, k, k, null, default, 1f, false, wrongKernel));
        Assert.Contains("HEAD_DIM = 16", f.Message);
        f = Assert.Throws<FusionException>(() => Cpu.Attention(q, k, k, null, new AttentionLayout(Packed: true, Heads: 1, HeadDim: 8), 1f, false,
            AttentionKernels.For(8, false, false)));
        Assert.Contains("one qkv tensor", f.Message);
    }
}
