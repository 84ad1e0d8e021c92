using Fusion.Kernels.Cpu.Fused;
using static Fusion.OperandChecks;

namespace Fusion;

/// <summary>
/// The fused operators of <see cref="IBackend"/> on the CPU: each checks its operands (and that the
/// kernel instantiates the operator's pattern), then runs the pattern's CPU twin in float32, float16
/// inputs converted and the result rounded once. The kernel's CUDA source and constants are not used.
/// </summary>
internal static class FusedOps
{
    public static CpuTensor FusedLinear(Tensor x, Tensor weight, Tensor? bias, Activation activation, Tensor? residual, FusedKernel kernel)
    {
        CheckPattern(kernel, "FusedLinear", "gemm_bias_act");
        if (!Enum.IsDefined(activation)) throw new ArgumentOutOfRangeException(nameof(activation), activation, "FusedLinear: unknown activation");
        var input = MinRank(x, "FusedLinear x", 1, "[..., K]");
        int k = input.Shape[-1];
        var w = Dims(weight, "FusedLinear weight", input.DType, -1, k);
        int n = w.Shape[0];
        var outShape = input.Shape.With(-1, n);
        var b = bias is null ? null : Dims(bias, "FusedLinear bias", input.DType, n);
        var r = residual is null ? null : Dims(residual, "FusedLinear residual", input.DType, outShape.ToArray());
        int m = checked((int)input.Shape.Product(0, input.Rank - 1));

        using var xs = new FloatInput(input);
        using var ws = new FloatInput(w);
        using var bs = Optional(b);
        using var rs = Optional(r);
        using var y = new FloatOutput(input.DType, outShape);
        FusedLinearTwin.Run(xs.Span, ws.Span, bs.Span, rs.Span, y.Span, m, n, k, (int)activation);
        return y.Finish();
    }

    public static CpuTensor BiasResidual(Tensor x, Tensor bias, Tensor residual, FusedKernel kernel)
    {
        CheckPattern(kernel, "BiasResidual", "bias_residual");
        var input = MinRank(x, "BiasResidual x", 1, "[..., C]");
        int c = input.Shape[-1];
        var b = Dims(bias, "BiasResidual bias", input.DType, c);
        var r = Dims(residual, "BiasResidual residual", input.DType, input.Shape.ToArray());
        int rows = checked((int)input.Shape.Product(0, input.Rank - 1));

        using var xs = new FloatInput(input);
        using var bs = new FloatInput(b);
        using var rs = new FloatInput(r);
        using var y = new FloatOutput(input.DType, input.Shape);
        BiasResidualTwin.Run(xs.Span, bs.Span, rs.Span, y.Span, rows, c);
        return y.Finish();
    }

    public static CpuTensor LayerNormWindowPartition(Tensor x, Tensor weight, Tensor bias, float eps, int window, int shift, FusedKernel kernel)
    {
        CheckPattern(kernel, "LayerNormWindowPartition", "ln_shift_partition");
        CheckWindow(window, shift);
        var input = Image(Dims(x, "LayerNormWindowPartition x", x.DType, -1, -1, -1, -1), "LayerNormWindowPartition x", window);
        int batch = input.Shape[0], h = input.Shape[1], w = input.Shape[2], c = input.Shape[3];
        var gamma = Dims(weight, "LayerNormWindowPartition weight", input.DType, c);
        var beta = Dims(bias, "LayerNormWindowPartition bias", input.DType, c);

        using var xs = new FloatInput(input);
        using var gs = new FloatInput(gamma);
        using var bs = new FloatInput(beta);
        using var y = new FloatOutput(input.DType, new Shape(batch * (h / window) * (w / window), window * window, c));
        LayerNormPartitionTwin.Run(xs.Span, gs.Span, bs.Span, y.Span, batch, h, w, c, window, shift, eps);
        return y.Finish();
    }

    public static CpuTensor WindowReverseResidual(Tensor x, Tensor residual, int window, int shift, FusedKernel kernel)
    {
        CheckPattern(kernel, "WindowReverseResidual", "window_reverse_residual");
        CheckWindow(window, shift);
        var input = Dims(x, "WindowReverseResidual x", x.DType, -1, window * window, -1);
        int c = input.Shape[2];
        var r = Image(Dims(residual, "WindowReverseResidual residual", input.DType, -1, -1, -1, c), "WindowReverseResidual residual", window);
        int batch = r.Shape[0], h = r.Shape[1], w = r.Shape[2];
        int windows = batch * (h / window) * (w / window);
        if (input.Shape[0] != windows)
            throw new TensorMismatchException("WindowReverseResidual x", $"{Pattern(input.DType, [windows, window * window, c])} (the windows of a {Describe(r)} residual)", Describe(input));

        using var xs = new FloatInput(input);
        using var rs = new FloatInput(r);
        using var y = new FloatOutput(input.DType, r.Shape);
        WindowReverseResidualTwin.Run(xs.Span, rs.Span, y.Span, batch, h, w, c, window, shift);
        return y.Finish();
    }

    public static CpuTensor WindowAttention(Tensor qkv, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel kernel)
    {
        CheckPattern(kernel, "WindowAttention", "window_attention");
        Positive(heads, nameof(heads));
        var input = Dims(qkv, "WindowAttention qkv", qkv.DType, -1, -1, -1);
        int windows = input.Shape[0], tokens = input.Shape[1];
        if (input.Shape[2] % (3 * heads) != 0)
            throw new TensorMismatchException("WindowAttention qkv", $"{input.DType.ShortName()}[B·nW, N, 3·{heads}·d] (last dim a multiple of 3·heads)", Describe(input));
        int headDim = input.Shape[2] / (3 * heads);
        var b = Dims(bias, "WindowAttention bias", input.DType, heads, tokens, tokens);
        var m = mask is null ? null : Dims(mask, "WindowAttention mask", input.DType, -1, tokens, tokens);
        // Window i of the batch uses mask[i mod nW], so the batch must hold whole images of nW windows.
        int perImage = m?.Shape[0] ?? 1;
        if (perImage == 0 || windows % perImage != 0)
            throw new TensorMismatchException("WindowAttention mask", $"{Pattern(input.DType, [-1, tokens, tokens])} whose first dim divides the {windows} windows of qkv", Describe(m!));

        using var qs = new FloatInput(input);
        using var bs = new FloatInput(b);
        using var ms = Optional(m);
        using var y = new FloatOutput(input.DType, new Shape(windows, tokens, heads * headDim));
        WindowAttentionTwin.Run(qs.Span, bs.Span, ms.Span, y.Span, windows, perImage, heads, headDim, tokens, scale);
        return y.Finish();
    }

    /// <summary>The kernel must instantiate the operator's own pattern: running another pattern's kernel is a compiler bug.</summary>
    private static void CheckPattern(FusedKernel kernel, string op, string pattern)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (kernel.Pattern != pattern)
            throw new TensorMismatchException($"{op} kernel", $"a kernel of pattern {pattern}", $"{kernel.Name} of pattern {kernel.Pattern}");
    }

    /// <summary>Swin's windows: a positive size and a shift in [0, window), as the shifted-window mask requires.</summary>
    private static void CheckWindow(int window, int shift)
    {
        Positive(window, nameof(window));
        if (shift < 0 || shift >= window)
            throw new ArgumentOutOfRangeException(nameof(shift), shift, $"shift must be in [0, {window})");
    }

    /// <summary>Requires a [B, H, W, C] tensor to have H and W multiples of the window.</summary>
    private static CpuTensor Image(CpuTensor x, string what, int window)
    {
        if (x.Shape[1] % window != 0 || x.Shape[2] % window != 0)
            throw new TensorMismatchException(what, $"{x.DType.ShortName()}[B, H, W, C] with H and W multiples of the window {window}", Describe(x));
        return x;
    }

    /// <summary>An absent operand reads as an empty span, which the twins take as "none".</summary>
    private static FloatInput Optional(CpuTensor? tensor) => tensor is null ? default : new FloatInput(tensor);
}
