using Fusion.Testing;
using Inputs = Fusion.Testing.TestData;

namespace Fusion.Cuda.Tests;

/// <summary>
/// The flash-attention kernel (pattern attention) through <see cref="CudaBackend.Attention"/> on fp16 operands: sequence lengths
/// T ∈ {1, 7, 65, 197, 577, 1024, 4096} with head dims {32, 64, 80, 128}, causal on and off, bias on and off, batches 1 and 3,
/// against the float64 definition up to T = 577 and against the CPU twin (float32 on the same fp16 values) beyond, where the
/// float64 reference would take minutes. Tolerance 2e-3 + 4e-3·|ref| per element: the kernel rounds the probabilities to fp16 for
/// p·v (at most 2⁻¹¹·Σp|v| ≤ 5e-4 here) and the result once (half an fp16 ulp), and exp2/rcp approximations add float32 ulps;
/// a wrong tile, mask or rescale gives errors of order 0.1.
/// </summary>
public sealed class AttentionKernelTests : GpuTestBase
{
    private const double Atol = 2e-3, Rtol = 4e-3;
    private const int Heads = 2;
    private readonly CudaBackend _cuda;

    public AttentionKernelTests()
    {
        _cuda = new CudaBackend(Device, new KernelCache(CacheDirectory));
    }

    public override void Dispose()
    {
        _cuda.Dispose();
        base.Dispose();
    }

    public static TheoryData<int, int> LengthsAndHeadDims()
    {
        var data = new TheoryData<int, int>();
        foreach (int t in new[] { 1, 7, 65, 197, 577, 1024, 4096 })
            foreach (int d in new[] { 32, 64, 80, 128 }) data.Add(t, d);
        return data;
    }

    [Theory]
    [MemberData(nameof(LengthsAndHeadDims))]
    public void KernelMatchesTheReference(int t, int d)
    {
        // Every (causal, bias, batch) up to T = 197; fewer, alternating, for the long ones.
        var combos = from causal in new[] { false, true } from bias in new[] { false, true } from batch in new[] { 1, 3 } select (causal, bias, batch);
        if (t >= 577) combos = combos.Where((_, i) => i % (t >= 1024 ? 4 : 2) == (t / 7 + d) % (t >= 1024 ? 4 : 2));
        foreach (var (causal, bias, batch) in combos) Check(batch, t, t, d, causal, bias);
    }

    [Theory]
    [InlineData(3, 65, 197, 64, false, true)]
    [InlineData(1, 197, 65, 80, true, true)]
    [InlineData(3, 33, 40, 20, false, true)]   // head dim 20: the guarded element-wise loads
    [InlineData(1, 129, 129, 40, true, false)] // head dim 40: padded to 48 in shared memory
    public void UnequalLengthsAndOtherHeadDims(int batch, int tq, int tk, int d, bool causal, bool bias) => Check(batch, tq, tk, d, causal, bias);

    [Theory]
    [InlineData(1, 197, 12, 64, false)]
    [InlineData(3, 77, 5, 32, true)]
    public void PackedProjectionAndMergedHeads(int batch, int tokens, int heads, int d, bool causal)
    {
        int seed = Inputs.NewSeed();
        var q = Inputs.Random(seed, DType.Float16, batch, heads, tokens, d);
        var k = Inputs.Random(seed + 1, DType.Float16, batch, heads, tokens, d);
        var v = Inputs.Random(seed + 2, DType.Float16, batch, heads, tokens, d);
        float scale = 1 / MathF.Sqrt(d);
        var expected = AttentionReference.Merge(AttentionReference.Compute(q, k, v, null, scale, causal));
        using var qkv = CudaTensor.FromHost(Device, AttentionReference.Pack(q, k, v).ToCpu(DType.Float16));
        using var result = (CudaTensor)_cuda.Attention(qkv, qkv, qkv, null, new AttentionLayout(true, true, heads, d), scale, causal, AttentionKernels.For(d, causal, false));
        Assert.Equal(new Shape(batch, tokens, heads * d), result.Shape);
        AssertClose(result, expected.Data, $"packed → merged B={batch} T={tokens} H={heads} d={d} causal={causal} (seed {seed})");
    }

    [Fact]
    public void Float32OperandsRunTheUnfusedChain()
    {
        int seed = Inputs.NewSeed();
        var q = Inputs.Random(seed, 2, 3, 21, 16);
        var k = Inputs.Random(seed + 1, 2, 3, 30, 16);
        var v = Inputs.Random(seed + 2, 2, 3, 30, 16);
        var bias = Inputs.Uniform(seed + 3, -2, 2, 3, 21, 30);
        using CudaTensor dq = CudaTensor.FromHost(Device, q.ToCpu()), dk = CudaTensor.FromHost(Device, k.ToCpu()), dv = CudaTensor.FromHost(Device, v.ToCpu());
        using var db = CudaTensor.FromHost(Device, bias.ToCpu());
        using var result = (CudaTensor)_cuda.Attention(dq, dk, dv, db, default, 0.25f, true, AttentionKernels.For(16, true, true));
        using var host = result.ToHost();
        Tolerance.AssertClose(host, AttentionReference.Compute(q, k, v, bias, 0.25, causal: true), 1e-5, 1e-4, $"f32 attention on CUDA (seed {seed})");
    }

    private void Check(int batch, int tq, int tk, int d, bool causal, bool hasBias)
    {
        int seed = Inputs.NewSeed();
        var q = Inputs.Random(seed, DType.Float16, batch, Heads, tq, d);
        var k = Inputs.Random(seed + 1, DType.Float16, batch, Heads, tk, d);
        var v = Inputs.Random(seed + 2, DType.Float16, batch, Heads, tk, d);
        var bias = hasBias ? Inputs.Uniform(seed + 3, -2, 2, Heads, tq, tk).RoundedTo(DType.Float16) : null;
        float scale = 1 / MathF.Sqrt(d);
        var kernel = AttentionKernels.For(d, causal, hasBias);
        string what = $"{kernel.Name} B={batch} Tq={tq} Tk={tk} (seed {seed})";
        using CudaTensor dq = CudaTensor.FromHost(Device, q.ToCpu(DType.Float16)), dk = CudaTensor.FromHost(Device, k.ToCpu(DType.Float16));
        using CudaTensor dv = CudaTensor.FromHost(Device, v.ToCpu(DType.Float16));
        using var db = bias is null ? null : CudaTensor.FromHost(Device, bias.ToCpu(DType.Float16));
        using var result = (CudaTensor)_cuda.Attention(dq, dk, dv, db, default, scale, causal, kernel);
        double[] expected;
        if ((long)tq * tk <= 577 * 577) expected = AttentionReference.Compute(q, k, v, bias, scale, causal).Data;
        else
        {
            // The CPU twin in float32 on the same fp16 values: the float64 reference is too slow at these lengths.
            using CpuTensor hq = q.ToCpu(), hk = k.ToCpu(), hv = v.ToCpu();
            using var hb = bias?.ToCpu();
            using var twin = (CpuTensor)CpuBackend.Instance.Attention(hq, hk, hv, hb, default, scale, causal, kernel);
            expected = Array.ConvertAll(twin.ToFloatArray(), f => (double)f);
        }
        AssertClose(result, expected, what);
    }

    private static void AssertClose(CudaTensor result, double[] expected, string what) => TestData.AssertClose(Download(result), expected, Atol, Rtol, what);
}
