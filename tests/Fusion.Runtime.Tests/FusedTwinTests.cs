using Fusion.Testing;

namespace Fusion.Runtime.Tests;

/// <summary>
/// The GEMM with its generated epilogue and the window-attention template through the CPU backend against the float64
/// reference of the unfused chain each replaces, on odd sizes: channels 30 and 36 (not multiples of 8), 5 heads of 6,
/// windows 7 (49 tokens) and 3, shifts 0, 1 and 3, batches 1 and 3. (The generated pointwise and reduction kernels are
/// tested against their chains in Compiler/GroupLoweringTests.)
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

    /// <summary>
    /// A Linear with its generated epilogue (bias, activation, residual) on the CPU backend: one GEMM applying the epilogue to each
    /// tile as it stores it, one rounding on store. The GEMM runs over [batch·rows, K] (the kernel's rows are its batch).
    /// </summary>
    [Theory]
    [InlineData(DType.Float32, 3, 7, 30, 36, Activation.Gelu, true, true)]
    [InlineData(DType.Float32, 1, 49, 36, 30, Activation.Relu, true, false)]
    [InlineData(DType.Float32, 2, 5, 30, 7, Activation.None, false, true)]
    [InlineData(DType.Float32, 1, 13, 17, 36, Activation.None, false, false)]
    [InlineData(DType.Float32, 2, 130, 96, 100, Activation.Gelu, true, true)]
    [InlineData(DType.Float16, 3, 7, 30, 36, Activation.Gelu, true, true)]
    [InlineData(DType.Float16, 1, 49, 36, 30, Activation.None, true, false)]
    [InlineData(DType.Float16, 2, 130, 96, 100, Activation.Relu, false, true)]
    public void GemmWithEpilogueMatchesLinearActivationAdd(DType dtype, int batch, int rows, int k, int n, Activation activation, bool hasBias, bool hasResidual)
    {
        int seed = TestData.NewSeed();
        var x = Precision.Input(seed, dtype, batch * rows, k);
        var w = Precision.Input(seed + 1, dtype, n, k);
        var b = hasBias ? Precision.Input(seed + 2, dtype, n) : null;
        var r = hasResidual ? Precision.Input(seed + 3, dtype, batch * rows, n) : null;
        var kernel = GemmKernels.Linear(n, k, hasBias, activation, hasResidual, dtype);
        // The epilogue takes the bias (when there is one), then the residual (when there is one).
        Check(dtype, UnfusedChains.Linear(x, w, b, activation, r), F32Tolerance + 1e-7 * k, $"Gemm {kernel.Name}",
            t => Cpu.Gemm(kernel, batch * rows, dtype, t[0]!, t[1]!, [.. new[] { t[2], t[3] }.Where(e => e is not null).Select(e => e!)])[0],
            (s, t) => UnfusedChains.Linear(s, t[0]!, t[1]!, t[2], activation, t[3]),
            x, w, b, r);
    }

    /// <summary>
    /// The residual added before the activation (relu(x·wᵀ + bias + residual), a ResNet block's end): the GEMM's tiles add it before
    /// the activation, as the loop IR's epilogue kernel does; against float64. A tile epilogue that added it after would put
    /// negative values (the residual) into a ReLU's output.
    /// </summary>
    [Theory]
    [InlineData(DType.Float32, Activation.Relu, 1e-5)]
    [InlineData(DType.Float32, Activation.Gelu, 1e-5)]
    [InlineData(DType.Float16, Activation.Relu, 1e-2)]
    public void GemmWithTheResidualBeforeTheActivationAddsItFirst(DType dtype, Activation activation, double tolerance)
    {
        int seed = TestData.NewSeed();
        const int rows = 53, k = 30, n = 36;
        var x = Precision.Input(seed, dtype, rows, k);
        var w = Precision.Input(seed + 1, dtype, n, k);
        var b = Precision.Input(seed + 2, dtype, n);
        var r = Precision.Input(seed + 3, dtype, rows, n);
        var kernel = GemmKernels.Linear(n, k, bias: true, activation, residual: true, dtype, residualFirst: true);
        Assert.True(kernel.Cublas!.ResidualFirst);
        using var scope = new TensorScope();
        var result = scope.Add(Cpu.Gemm(kernel, rows, dtype, scope.Add(x.ToCpu(dtype)), scope.Add(w.ToCpu(dtype)), scope.Add(b.ToCpu(dtype)),
            scope.Add(r.ToCpu(dtype)))[0]);
        var product = Ref.Linear(x, w, b);
        var expected = new RefTensor([rows, n], product.Data.Select((v, i) => v + r.Data[i])
            .Select(v => activation == Activation.Relu ? Math.Max(v, 0) : 0.5 * v * (1 + Fusion.Kernels.Cpu.Gelu.Erf(v / Math.Sqrt(2)))).ToArray());
        if (dtype == DType.Float32) Tolerance.AssertClose(result, expected, tolerance + 1e-7 * k, tolerance, $"seed {seed}: residual before {activation}");
        else Assert.True(Tolerance.RelativeL2(result, expected) <= tolerance, $"seed {seed}: residual before {activation}, f16 relative L2");
    }

    /// <summary>
    /// An epilogue the GEMM's tiles do not apply themselves (GELU's tanh form) runs as the epilogue kernel on the float32 product:
    /// against ½v(1 + tanh(√(2/π)(v + 0.044715v³))) + residual in float64.
    /// </summary>
    [Theory]
    [InlineData(DType.Float32, 1e-5)]
    [InlineData(DType.Float16, 1e-2)]
    public void GemmWithTanhGeluRunsItsEpilogueKernel(DType dtype, double tolerance)
    {
        int seed = TestData.NewSeed();
        const int rows = 37, k = 30, n = 36;
        var x = Precision.Input(seed, dtype, rows, k);
        var w = Precision.Input(seed + 1, dtype, n, k);
        var b = Precision.Input(seed + 2, dtype, n);
        var r = Precision.Input(seed + 3, dtype, rows, n);
        var kernel = GemmKernels.Linear(n, k, bias: true, Activation.GeluTanh, residual: true, dtype);
        Assert.Equal(Activation.GeluTanh, kernel.Cublas!.Activation);
        using var scope = new TensorScope();
        var result = scope.Add(Cpu.Gemm(kernel, rows, dtype, scope.Add(x.ToCpu(dtype)), scope.Add(w.ToCpu(dtype)), scope.Add(b.ToCpu(dtype)),
            scope.Add(r.ToCpu(dtype)))[0]);
        var product = Ref.Linear(x, w, b);
        var expected = new RefTensor([rows, n], product.Data.Select((v, i) =>
            0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))) + r.Data[i]).ToArray());
        if (dtype == DType.Float32) Tolerance.AssertClose(result, expected, tolerance + 1e-7 * k, tolerance, $"seed {seed}: gemm with tanh GELU");
        else Assert.True(Tolerance.RelativeL2(result, expected) <= tolerance, $"seed {seed}: gemm with tanh GELU, f16 relative L2");
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
