using Fusion.Kernels.Cpu.Fused;
using static Fusion.OperandChecks;

namespace Fusion;

/// <summary>
/// The template operators of <see cref="IBackend"/> on the CPU (window attention): checks the operands (and that the kernel
/// instantiates the operator's pattern), then runs the pattern's CPU twin in float32, float16 inputs converted and the result
/// rounded once. The kernel's CUDA source and constants are not used. (Generated kernels run in <see cref="LoopInterpreter"/>.)
/// </summary>
internal static class FusedOps
{
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

    /// <summary>
    /// softmax(q·kᵀ·scale + bias, causal)·v through the attention twin, every layout of <see cref="AttentionLayout"/> addressed by
    /// its strides; float16 operands converted, the result rounded once.
    /// </summary>
    public static CpuTensor Attention(Tensor q, Tensor k, Tensor v, Tensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel)
    {
        CheckPattern(kernel, "Attention", AttentionKernels.Pattern);
        var geometry = AttentionGeometry.Of(q, k, v, bias, layout);
        kernel.RequireConstant("HEAD_DIM", geometry.HeadDim, "the head dim");
        kernel.RequireConstant("CAUSAL", causal ? 1 : 0, "causal");
        kernel.RequireConstant("HAS_BIAS", bias is null ? 0 : 1, "bias");
        var cq = Host(q, "Attention q");
        using var qs = new FloatInput(cq);
        // Packed: k and v are q's tensor, read through the same converted copy.
        using var ks = layout.Packed ? default : new FloatInput(Host(k, "Attention k"));
        using var vs = layout.Packed ? default : new FloatInput(Host(v, "Attention v"));
        using var bs = bias is null ? default : new FloatInput(Host(bias, "Attention bias"));
        using var y = new FloatOutput(cq.DType, geometry.OutputShape);
        AttentionTwin.Run(qs.Span, layout.Packed ? qs.Span : ks.Span, layout.Packed ? qs.Span : vs.Span, y.Span, geometry.Sizes,
            geometry.Q, geometry.K, geometry.V, geometry.Output, scale, causal, bs.Span, geometry.BiasTerm);
        return y.Finish();
    }

    /// <summary>The kernel must instantiate the operator's own pattern: running another pattern's kernel is a compiler bug.</summary>
    private static void CheckPattern(FusedKernel kernel, string op, string pattern)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (kernel.Pattern != pattern)
            throw new TensorMismatchException($"{op} kernel", $"a kernel of pattern {pattern}", $"{kernel.Name} of pattern {kernel.Pattern}");
    }

    /// <summary>An absent operand reads as an empty span, which the twins take as "none".</summary>
    private static FloatInput Optional(CpuTensor? tensor) => tensor is null ? default : new FloatInput(tensor);
}
