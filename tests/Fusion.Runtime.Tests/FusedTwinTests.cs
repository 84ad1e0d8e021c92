using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// The fused operators through the CPU backend (their CPU twins) against the float64 reference of the
/// unfused chain each replaces, on odd sizes: channels 30 and 36 (not multiples of 8), 5 heads of 6,
/// windows 7 (49 tokens) and 3, shifts 0, 1 and 3, batches 1 and 3.
/// </summary>
public class FusedTwinTests
{
    private static readonly CpuBackend Cpu = CpuBackend.Instance;

    /// <summary>
    /// Float32 tolerance, atol and rtol 1e-5: every twin does float32 math on exact inputs of magnitude ≤ 1
    /// (LayerNorm outputs ≤ ~4), so its error is a few float32 ulps (~1e-7 relative) per short reduction;
    /// 1e-5 leaves two orders of margin while an indexing or shift error is O(0.1–1).
    /// GEMMs add 1e-7·K for the K-term dot products, as <see cref="MatrixTests"/> does.
    /// </summary>
    private const double F32Tolerance = 1e-5;

    /// <summary>Float16 bar on relative L2 error: one f16 rounding is ~3e-4 relative, so 1e-2 catches real errors only.</summary>
    private const double F16RelativeL2 = 1e-2;

    private const float Eps = 1e-5f;

    private static FusedKernel Kernel(string pattern) => new("test", pattern, "", new Dictionary<string, int>());

    [Theory]
    [InlineData(DType.Float32, 3, 7, 30, 36, Activation.Gelu, true, true)]
    [InlineData(DType.Float32, 1, 49, 36, 30, Activation.Relu, true, false)]
    [InlineData(DType.Float32, 2, 5, 30, 7, Activation.None, false, true)]
    [InlineData(DType.Float32, 1, 13, 17, 36, Activation.None, false, false)]
    [InlineData(DType.Float32, 2, 130, 96, 100, Activation.Gelu, true, true)]
    [InlineData(DType.Float16, 3, 7, 30, 36, Activation.Gelu, true, true)]
    [InlineData(DType.Float16, 1, 49, 36, 30, Activation.None, true, false)]
    [InlineData(DType.Float16, 2, 130, 96, 100, Activation.Relu, false, true)]
    public void FusedLinearMatchesLinearActivationAdd(DType dtype, int batch, int rows, int k, int n, Activation activation, bool hasBias, bool hasResidual)
    {
        int seed = TestData.NewSeed();
        var x = Precision.Input(seed, dtype, batch, rows, k);
        var w = Precision.Input(seed + 1, dtype, n, k);
        var b = hasBias ? Precision.Input(seed + 2, dtype, n) : null;
        var r = hasResidual ? Precision.Input(seed + 3, dtype, batch, rows, n) : null;
        var kernel = Kernel("gemm_bias_act");
        // Absent operands stay null, so the positions are fixed: x, w, bias, residual.
        Check(dtype, UnfusedChains.Linear(x, w, b, activation, r), F32Tolerance + 1e-7 * k, $"FusedLinear {activation} bias={hasBias} residual={hasResidual}",
            t => Cpu.FusedLinear(t[0]!, t[1]!, t[2], activation, t[3], kernel),
            (s, t) => UnfusedChains.Linear(s, t[0]!, t[1]!, t[2], activation, t[3]),
            x, w, b, r);
    }

    [Theory]
    [InlineData(DType.Float32, 3, 14, 30)]
    [InlineData(DType.Float32, 1, 49, 36)]
    [InlineData(DType.Float16, 3, 14, 30)]
    [InlineData(DType.Float16, 2, 200, 36)]
    public void BiasResidualMatchesTwoAdds(DType dtype, int batch, int rows, int channels)
    {
        int seed = TestData.NewSeed();
        var x = Precision.Input(seed, dtype, batch, rows, channels);
        var b = Precision.Input(seed + 1, dtype, channels);
        var r = Precision.Input(seed + 2, dtype, batch, rows, channels);
        var kernel = Kernel("bias_residual");
        Check(dtype, Ref.Add(Ref.Add(x, b), r), F32Tolerance, "BiasResidual",
            t => Cpu.BiasResidual(t[0]!, t[1]!, t[2]!, kernel),
            (s, t) => s.Add(Cpu.Add(s.Add(Cpu.Add(t[0]!, t[1]!)), t[2]!)),
            x, b, r);
    }

    /// <summary>Images (batch, H, W, C) with their window and shift: 7×7 windows shifted 0 and 3, 3×3 windows shifted 0 and 1.</summary>
    public static TheoryData<DType, int, int, int, int, int, int> Images => new()
    {
        { DType.Float32, 1, 14, 21, 30, 7, 0 },
        { DType.Float32, 3, 14, 14, 36, 7, 3 },
        { DType.Float32, 1, 9, 6, 30, 3, 1 },
        { DType.Float32, 3, 6, 9, 36, 3, 0 },
        { DType.Float16, 3, 14, 14, 30, 7, 3 },
        { DType.Float16, 1, 9, 6, 36, 3, 1 },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void LayerNormWindowPartitionMatchesNormRollPartition(DType dtype, int batch, int height, int width, int channels, int window, int shift)
    {
        int seed = TestData.NewSeed();
        var x = Precision.Input(seed, dtype, batch, height, width, channels);
        var gamma = Precision.Input(seed + 1, dtype, channels);
        var beta = Precision.Input(seed + 2, dtype, channels);
        var kernel = Kernel("ln_shift_partition");
        Check(dtype, UnfusedChains.LayerNormPartition(x, gamma, beta, Eps, window, shift), F32Tolerance, $"LayerNormWindowPartition w{window} s{shift}",
            t => Cpu.LayerNormWindowPartition(t[0]!, t[1]!, t[2]!, Eps, window, shift, kernel),
            (s, t) => UnfusedChains.LayerNormPartition(s, t[0]!, t[1]!, t[2]!, Eps, window, shift),
            x, gamma, beta);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void WindowReverseResidualMatchesReverseRollAdd(DType dtype, int batch, int height, int width, int channels, int window, int shift)
    {
        int seed = TestData.NewSeed();
        int windows = batch * (height / window) * (width / window);
        var x = Precision.Input(seed, dtype, windows, window * window, channels);
        var residual = Precision.Input(seed + 1, dtype, batch, height, width, channels);
        var kernel = Kernel("window_reverse_residual");
        Check(dtype, UnfusedChains.ReverseResidual(x, residual, window, shift), F32Tolerance, $"WindowReverseResidual w{window} s{shift}",
            t => Cpu.WindowReverseResidual(t[0]!, t[1]!, window, shift, kernel),
            (s, t) => UnfusedChains.ReverseResidual(s, t[0]!, t[1]!, window, shift),
            x, residual);
    }

    /// <summary>
    /// Attention over the windows of (batch, H, W) images, heads × headDim per token, from the qkv projection of
    /// x [windows, N, C]: the fused side projects with the weight and bias re-laid out by QkvRelayout (its qkv is
    /// (heads, 3, d) per token), the unfused chains with the originals ((3, heads, d), as timm reshapes it).
    /// Masked cases use the shifted-window mask of their shift. Weights are in ±0.25 so q·k stays O(1).
    /// Tolerance as FusedLinear: F32Tolerance + 1e-7·C for the projection's C-term dot products.
    /// </summary>
    [Theory]
    [InlineData(DType.Float32, 1, 14, 21, 7, 3, 5, 6, true)]
    [InlineData(DType.Float32, 3, 14, 14, 7, 0, 5, 6, false)]
    [InlineData(DType.Float32, 3, 6, 9, 3, 1, 5, 6, true)]
    [InlineData(DType.Float32, 1, 6, 9, 3, 0, 3, 32, false)]
    [InlineData(DType.Float16, 3, 14, 14, 7, 3, 5, 6, true)]
    [InlineData(DType.Float16, 3, 6, 9, 3, 1, 5, 6, true)]
    [InlineData(DType.Float16, 1, 14, 21, 7, 0, 5, 6, false)]
    public void WindowAttentionMatchesTheAttentionChain(DType dtype, int batch, int height, int width, int window, int shift, int heads, int headDim, bool masked)
    {
        int seed = TestData.NewSeed();
        int perImage = height / window * (width / window), tokens = window * window, channels = heads * headDim;
        var x = Precision.Input(seed, dtype, batch * perImage, tokens, channels);
        var w = TestData.Uniform(seed + 1, -0.25, 0.25, 3 * channels, channels).RoundedTo(dtype);
        var b = TestData.Uniform(seed + 2, -0.25, 0.25, 3 * channels).RoundedTo(dtype);
        var bias = Precision.Input(seed + 3, dtype, heads, tokens, tokens);
        var mask = masked ? Ref.ShiftedWindowMask(height, width, window, shift) : null;
        float scale = 1f / MathF.Sqrt(headDim);
        var kernel = Kernel("window_attention");
        Check(dtype, Ref.WindowAttention(Ref.Linear(x, w, b), bias, mask, heads, scale), F32Tolerance + 1e-7 * channels,
            $"WindowAttention {heads}×{headDim} w{window} s{shift} mask={masked}",
            t =>
            {
                using var s = new TensorScope();
                var qkv = s.Add(Cpu.Linear(t[0]!, s.Add(Cpu.QkvRelayout(t[1]!, heads)), s.Add(Cpu.QkvRelayout(t[2]!, heads))));
                return Cpu.WindowAttention(qkv, t[3]!, t[4], heads, scale, kernel);
            },
            (s, t) => UnfusedChains.Attention(s, s.Add(Cpu.Linear(t[0]!, t[1]!, t[2]!)), t[3]!, t[4], heads, scale),
            x, w, b, bias, mask);
    }

    /// <summary>
    /// Runs the fused operator on <paramref name="inputs"/> (null stays null) in <paramref name="dtype"/>. Float32 must be within
    /// <paramref name="atol"/> + 1e-5·|expected| of the float64 reference; float16 must have relative L2 error ≤ 1e-2
    /// and at most twice that of the backend's unfused float16 chain on the same inputs.
    /// </summary>
    private static void Check(DType dtype, RefTensor expected, double atol, string what,
        Func<Tensor?[], Tensor> fused, Func<TensorScope, Tensor?[], Tensor> unfused, params RefTensor?[] inputs)
    {
        using var scope = new TensorScope();
        var tensors = inputs.Select(i => i is null ? null : scope.Add(i.ToCpu(dtype))).ToArray();
        var result = scope.Add(fused(tensors));
        Assert.Equal(dtype, result.DType);
        Assert.Equal(expected.Shape, result.Shape.ToArray());
        if (dtype == DType.Float32)
        {
            Tolerance.AssertClose(result, expected, atol, F32Tolerance, $"{what} f32");
            return;
        }
        double fusedError = Tolerance.RelativeL2(result, expected);
        double unfusedError = Tolerance.RelativeL2(unfused(scope, tensors), expected);
        Assert.True(fusedError <= F16RelativeL2, $"{what} f16: relative L2 {fusedError:G3} > {F16RelativeL2} (seed {expected.Seed})");
        Assert.True(fusedError <= 2 * unfusedError, $"{what} f16: relative L2 {fusedError:G3}, more than twice the unfused chain's {unfusedError:G3} (seed {expected.Seed})");
    }
}
