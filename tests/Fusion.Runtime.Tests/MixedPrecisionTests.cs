using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// The operators a cast folds into (Patchify, Mean, LayerNorm writing a chosen float type), the no-op-aware
/// <see cref="MixedPrecision.Convert"/>, and <see cref="FusedChains"/> (the unfused chains the CUDA backend runs
/// fused operators as in float32), all on the CPU against float64 references on fresh random inputs.
/// </summary>
[Collection(nameof(LiveCountCollection))]
public sealed class MixedPrecisionTests
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;

    /// <summary>A float32 result from float32 math on exact inputs: a few ulps per short reduction, 1e-5 leaves margin.</summary>
    private const double F32Tolerance = 1e-5;

    /// <summary>One rounding to f16 on store: half an ulp, 2⁻¹¹ relative; 1e-3 (+1e-3 absolute) as elsewhere.</summary>
    private const double F16Tolerance = 1e-3;

    [Theory]
    [InlineData(DType.Float32, DType.Float16)]
    [InlineData(DType.Float16, DType.Float32)]
    [InlineData(DType.Float32, DType.Float32)]
    public void Patchify_WritesTheChosenType_AsPatchifyThenCast(DType from, DType to)
    {
        int seed = TestData.NewSeed();
        using var x = TestData.Random(seed, from, 2, 3, 8, 12).ToCpu(from);
        using var mixed = Cpu.Patchify(x, 4, to);
        using var plain = Cpu.Patchify(x, 4);
        using var cast = Cpu.Cast(plain, to);
        Assert.Equal(to, mixed.DType);
        Assert.Equal(((CpuTensor)cast).Bytes.ToArray(), ((CpuTensor)mixed).Bytes.ToArray()); // a move and one conversion: exact
    }

    [Fact]
    public void Mean_OfHalf_WritesFloat32_SummedInFloat32()
    {
        int seed = TestData.NewSeed();
        var x = TestData.Random(seed, DType.Float16, 3, 49, 24);
        using var input = x.ToCpu(DType.Float16);
        using var y = Cpu.Mean(input, 1, 1, DType.Float32);
        Assert.Equal(DType.Float32, y.DType);
        // The f16 mean would carry a rounding of 2⁻¹¹; the f32 one only f32 summation error.
        Tolerance.AssertClose(y, Ref.Mean(x, 1, 1), F32Tolerance, F32Tolerance, $"Mean f16 → f32 (seed {seed})");
    }

    [Theory]
    [InlineData(DType.Float16, DType.Float16, DType.Float32)]
    [InlineData(DType.Float32, DType.Float16, DType.Float16)]
    [InlineData(DType.Float16, DType.Float32, DType.Float32)]
    [InlineData(DType.Float32, DType.Float32, DType.Float16)]
    public void LayerNorm_ReadsEitherType_WritesTheChosenOne(DType xType, DType weightType, DType outType)
    {
        int seed = TestData.NewSeed();
        var x = TestData.Random(seed, xType, 5, 7, 30);
        var w = TestData.Random(seed + 1, weightType, 30);
        var b = TestData.Random(seed + 2, weightType, 30);
        using var xs = x.ToCpu(xType);
        using var ws = w.ToCpu(weightType);
        using var bs = b.ToCpu(weightType);
        using var y = Cpu.LayerNorm(xs, ws, bs, 1e-5f, outType);
        Assert.Equal(outType, y.DType);
        double tolerance = outType == DType.Float16 ? F16Tolerance : F32Tolerance;
        Tolerance.AssertClose(y, Ref.LayerNorm(x, w, b, 1e-5), tolerance, tolerance, $"LayerNorm {xType}/{weightType} → {outType} (seed {seed})");
    }

    [Fact]
    public void LayerNorm_WeightAndBiasOfDifferentTypes_AreRejected()
    {
        using var x = CpuTensor.Zeros(DType.Float16, 2, 8);
        using var w = CpuTensor.Zeros(DType.Float32, 8);
        using var b = CpuTensor.Zeros(DType.Float16, 8);
        var e = Assert.Throws<TensorMismatchException>(() => Cpu.LayerNorm(x, w, b, 1e-5f, DType.Float32));
        Assert.Contains("LayerNorm bias: expected f32[8]", e.Message);
    }

    [Fact]
    public void Convert_IsAViewWhenTheTypeMatches_AndACastOtherwise()
    {
        using var x = TestData.Random(TestData.NewSeed(), 4, 6).ToCpu();
        var same = (CpuTensor)MixedPrecision.Convert(Cpu, x, DType.Float32);
        using (same)
        {
            Assert.Equal(x.Span<float>().ToArray(), same.Span<float>().ToArray());
            x.Span<float>()[0] = 42f;
            Assert.Equal(42f, same.Span<float>()[0]); // shares the memory: no copy
        }
        Assert.Equal(42f, x.Span<float>()[0]); // disposing the view leaves x alone
        using var half = MixedPrecision.Convert(Cpu, x, DType.Float16);
        Assert.Equal(DType.Float16, half.DType);
    }

    // FusedChains: the same functions as the CPU twins, so in float32 they agree to summation order.

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WindowAttentionChain_MatchesTheTwin(bool masked)
    {
        int seed = TestData.NewSeed();
        int heads = 5, headDim = 6, tokens = 49, perImage = 4;
        using var s = new TensorScope();
        var qkv = s.Add(TestData.Random(seed, 2 * perImage, tokens, 3 * heads * headDim).ToCpu()); // laid out (heads, 3, d)
        var bias = s.Add(TestData.Random(seed + 1, heads, tokens, tokens).ToCpu());
        var mask = masked ? s.Add(Ref.ShiftedWindowMask(14, 14, 7, 3).ToCpu()) : null;
        float scale = 1f / MathF.Sqrt(headDim);
        AssertSame(s.Add(Cpu.WindowAttention(qkv, bias, mask, heads, scale, Kernel("window_attention"))),
            s.Add(FusedChains.WindowAttention(Cpu, qkv, bias, mask, heads, scale)), $"WindowAttention mask={masked} (seed {seed})");
    }

    [Fact]
    public void Chains_ReleaseTheirIntermediates()
    {
        using var s = new TensorScope();
        var qkv = s.Add(TestData.Random(TestData.NewSeed(), 4, 49, 90).ToCpu());
        var bias = s.Add(TestData.Random(TestData.NewSeed(), 5, 49, 49).ToCpu());
        var mask = s.Add(Ref.ShiftedWindowMask(14, 14, 7, 3).ToCpu());
        var w = s.Add(TestData.Random(TestData.NewSeed(), 7, 90).ToCpu());
        var rows = s.Add(Cpu.Reshape(qkv, new Shape(4 * 49, 90)));
        var gemm = GemmKernels.Linear(7, 90, bias: false, Activation.None, residual: false, DType.Float32);
        long before = CpuTensor.LiveCount;
        FusedChains.WindowAttention(Cpu, qkv, bias, mask, 5, 0.4f).Dispose();
        Cpu.Gemm(gemm, 4 * 49, DType.Float32, rows, w)[0].Dispose(); // the product is released inside, the result here
        Assert.Equal(before, CpuTensor.LiveCount);
    }

    private static FusedKernel Kernel(string pattern) => new("test", pattern, "", new Dictionary<string, int>());

    private static void AssertSame(Tensor twin, Tensor chain, string what)
    {
        Assert.Equal(twin.Shape, chain.Shape);
        Tolerance.AssertClose(chain, RefTensor.FromCpu((CpuTensor)twin), F32Tolerance, F32Tolerance, what);
    }
}
