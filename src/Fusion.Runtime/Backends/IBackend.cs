namespace Fusion;

/// <summary>
/// The unfused operator set every backend implements, one method per operator of <see cref="F"/>.
/// Each method checks its operands' shapes and dtypes, allocates and returns a new tensor that
/// the caller owns (and must dispose), and never disposes its inputs. Float16 tensors are
/// computed in float32 and rounded once on store. Disposing a backend releases what it owns
/// (a CUDA backend its device, memory and modules), so <c>using var gpu = Backends.Create();</c>
/// works whichever backend is chosen.
/// </summary>
public interface IBackend : IDisposable
{
    /// <summary>A short name for messages ("cpu", "cuda:0").</summary>
    string Name { get; }

    DeviceKind Device { get; }

    /// <summary>The backend's copy of a parameter in <paramref name="dtype"/>; owned by the backend (do not dispose), refreshed when the parameter changes.</summary>
    Tensor Param(Parameter parameter, DType dtype);

    /// <summary>
    /// A copy of a parameter in <paramref name="dtype"/> that the caller owns and disposes: for values read once (a compiled plan's
    /// constant builder reads the weights a quantized plan quantizes), which <see cref="Param"/> would keep on the backend.
    /// </summary>
    Tensor ParamCopy(Parameter parameter, DType dtype);

    /// <summary>
    /// Told the values a compiled plan derived from its parameters alone (<see cref="ConstantCache"/>): fixed from now until
    /// they are disposed or handed over again after a rebuild. A backend may prepare them once; the CPU backend packs those a
    /// GEMM reads as its weight (a convolution's folded, reordered weight) instead of packing them on every call.
    /// </summary>
    void AdoptConstants(IReadOnlyList<Tensor> values)
    {
    }

    /// <summary>Copies a host tensor to this backend (a new tensor even on the CPU).</summary>
    Tensor FromHost(CpuTensor host);

    /// <summary>Copies a tensor of this backend to the host.</summary>
    CpuTensor ToHost(Tensor tensor);

    /// <summary>Converts element type.</summary>
    Tensor Cast(Tensor x, DType dtype);

    /// <summary>x [..., K] · weightᵀ [N, K] + bias [N] → [..., N].</summary>
    Tensor Linear(Tensor x, Tensor weight, Tensor? bias);

    /// <summary>a [..., M, K] · b [..., K, N] → [..., M, N] (b [..., N, K] when <paramref name="transposeB"/>); b's leading dims equal a's or are absent.</summary>
    Tensor MatMul(Tensor a, Tensor b, bool transposeB);

    /// <summary>Elementwise a + b with NumPy broadcasting (trailing dims aligned; size-1 or missing dims broadcast).</summary>
    Tensor Add(Tensor a, Tensor b);

    /// <summary>x · scalar.</summary>
    Tensor Mul(Tensor x, float scalar);

    /// <summary>GELU, exact erf form: x·½·(1 + erf(x/√2)).</summary>
    Tensor Gelu(Tensor x);

    Tensor Relu(Tensor x);

    /// <summary>Normalizes over the last axis: (x − mean)/√(var + eps)·weight + bias, biased variance.</summary>
    Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps);

    /// <summary>Softmax over the last axis, max-subtracted.</summary>
    Tensor Softmax(Tensor x);

    /// <summary>Same elements, new shape (element counts must match).</summary>
    Tensor Reshape(Tensor x, Shape shape);

    /// <summary>Reorders axes: output axis i is input axis <c>axes[i]</c>.</summary>
    Tensor Permute(Tensor x, ReadOnlySpan<int> axes);

    /// <summary>Takes index <paramref name="index"/> along <paramref name="axis"/>, removing that axis.</summary>
    Tensor Select(Tensor x, int axis, int index);

    /// <summary>Cyclic shift like torch.roll: out[i] = x[(i − shift) mod n] along each axis in <paramref name="axes"/>.</summary>
    Tensor Roll(Tensor x, int shift, ReadOnlySpan<int> axes);

    /// <summary>[B, H, W, C] → [B·(H/w)·(W/w), w·w, C]: non-overlapping w×w windows, row-major over windows and tokens.</summary>
    Tensor WindowPartition(Tensor x, int window);

    /// <summary>Inverse of <see cref="WindowPartition"/>: [B·nW, w·w, C] → [B, H, W, C].</summary>
    Tensor WindowReverse(Tensor x, int window, int height, int width);

    /// <summary>[B, H, W, C] → [B, H/2, W/2, 4C], channels ordered (0,0), (1,0), (0,1), (1,1) by (row, column) offset, like timm's PatchMerging.</summary>
    Tensor PatchMerging(Tensor x);

    /// <summary>[B, C, H, W] → [B, H/p, W/p, C·p·p], patch elements ordered (c, kh, kw) to match a Conv2d weight [out, C, p, p].</summary>
    Tensor Patchify(Tensor x, int patch);

    /// <summary>Mean over the consecutive axes [<paramref name="firstAxis"/>, <paramref name="firstAxis"/> + <paramref name="count"/>), which are removed.</summary>
    Tensor Mean(Tensor x, int firstAxis, int count);

    /// <summary>Gathers a relative position bias table [(2w−1)², heads] into [heads, w², w²] the way Swin indexes it.</summary>
    Tensor RelativePositionBias(Tensor table, int window);

    /// <summary>
    /// Re-lays out a qkv Linear's weight [3·heads·d, K] or bias [3·heads·d] (same shape out) so the projection writes
    /// (heads, 3, d) per token instead of (3, heads, d), the layout <see cref="WindowAttention"/> reads: out row
    /// (h·3 + s)·d + i = in row (s·heads + h)·d + i for s ∈ {q, k, v}. A load-time constant; elements are moved, not rounded.
    /// </summary>
    Tensor QkvRelayout(Tensor x, int heads);

    /// <summary>The shifted-window attention mask [nW, w², w²]: 0 where two tokens come from the same region, −100 elsewhere.</summary>
    Tensor ShiftedWindowMask(int height, int width, int window, int shift, DType dtype);

    // Operators that write a chosen float type. The precision pass folds a cast into them: they read x in either float
    // type and write dtype (computing in float32 and rounding once), so an input image becomes f16 patches, or an f16
    // feature map an f32 mean for an f32 head, in one pass. The defaults compose the operator with Cast (two passes);
    // the CPU and CUDA backends do it in one.

    /// <summary><see cref="Patchify(Tensor, int)"/> of x in either float type, written as <paramref name="dtype"/>.</summary>
    Tensor Patchify(Tensor x, int patch, DType dtype) => MixedPrecision.Then(this, Patchify(x, patch), dtype);

    /// <summary><see cref="Mean(Tensor, int, int)"/> of x in either float type (summed in float32), written as <paramref name="dtype"/>.</summary>
    Tensor Mean(Tensor x, int firstAxis, int count, DType dtype) => MixedPrecision.Then(this, Mean(x, firstAxis, count), dtype);

    /// <summary>
    /// <see cref="LayerNorm(Tensor, Tensor, Tensor, float)"/> of x in either float type, weight and bias in either (the same
    /// for both), written as <paramref name="dtype"/>.
    /// </summary>
    Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps, DType dtype) => MixedPrecision.LayerNorm(this, x, weight, bias, eps, dtype);

    // Compiled code. A model's generated plan runs its fused groups as kernels generated from the loop IR (the CPU backend
    // interprets the IR, a CUDA backend compiles the printed CUDA C), its Linear layers as GEMMs with generated epilogues, and
    // Swin's window attention as a template. Semantics: those of the operators each one replaces, computed in float32 with one
    // rounding on store.

    /// <summary>
    /// Runs a generated kernel: <paramref name="inputs"/> are its input buffers in order (shapes as the IR declares them for a batch
    /// of <paramref name="batch"/>; buffers of the input/output type in <paramref name="io"/>); returns its outputs, new tensors the
    /// caller owns, in buffer order.
    /// </summary>
    Tensor[] Run(GeneratedKernel kernel, int batch, DType io, params Tensor[] inputs);

    /// <summary>
    /// x [..., K] · weightᵀ [N, K] finished by the kernel's epilogue, which reads the product and <paramref name="epilogueInputs"/> (its
    /// other input buffers, in order) and returns its outputs (new tensors the caller owns).
    /// </summary>
    Tensor[] Gemm(GemmKernel kernel, int batch, DType io, Tensor x, Tensor weight, params Tensor[] epilogueInputs);

    /// <summary>
    /// A Linear's MLP: <paramref name="up"/> (x · w1ᵀ finished by its epilogue: bias and activation) then <paramref name="down"/> (the
    /// hidden values · w2ᵀ finished by its epilogue: bias, residual, cast), the hidden tensor read by nothing else. By default the two
    /// GEMMs one after the other (<see cref="MlpAsPair"/>); a backend may compute both in one kernel where it has one for the shapes.
    /// Returns <paramref name="down"/>'s outputs (new tensors the caller owns).
    /// </summary>
    Tensor[] Mlp(GemmKernel up, GemmKernel down, int batch, DType io, Tensor x, Tensor w1, Tensor[] upInputs, Tensor w2, Tensor[] downInputs) =>
        MlpAsPair(this, up, down, batch, io, x, w1, upInputs, w2, downInputs);

    /// <summary>
    /// Scaled dot-product attention, softmax(q·kᵀ·scale + bias, causal)·v, in one kernel (pattern attention, see
    /// <see cref="AttentionKernels"/>): q [B, H, Tq, d], k and v [B, H, Tk, d] → [B, H, Tq, d], or the packed and merged forms
    /// <paramref name="layout"/> describes. bias (or null) is added to the scaled scores and broadcasts from [Tq, Tk],
    /// [H|1, Tq, Tk] or [B|1, H|1, Tq, Tk]; <paramref name="causal"/> keeps key j for query i only when j ≤ i. Computed in float32
    /// (fp16 probabilities on the tensor cores) and rounded once.
    /// </summary>
    Tensor Attention(Tensor q, Tensor k, Tensor v, Tensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel);

    /// <summary>
    /// <see cref="Attention(Tensor, Tensor, Tensor, Tensor?, AttentionLayout, float, bool, FusedKernel)"/> finished by the kernel's
    /// generated <see cref="FusedKernel.Epilogue"/> (the pointwise chain after the attention, over its output), which reads the
    /// attention's result and <paramref name="epilogueInputs"/> and returns its outputs (new tensors the caller owns). By default the
    /// attention, then the epilogue as a kernel of its own; the CUDA backend runs both in one kernel.
    /// </summary>
    Tensor[] Attention(Tensor q, Tensor k, Tensor v, Tensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel, int batch, DType io,
        params Tensor[] epilogueInputs) =>
        ThenEpilogue(kernel, batch, io, epilogueInputs, template => Attention(q, k, v, bias, layout, scale, causal, template));

    /// <summary>
    /// Window attention read straight from the QKV projection: qkv [B·nW, N, 3·heads·d] laid out (heads, 3, d) per token,
    /// i.e. each head's q, k, v contiguous (a projection whose weight and bias went through <see cref="QkvRelayout"/>),
    /// bias [heads, N, N], mask [nW, N, N] or null (window b uses mask[b mod nW]) →
    /// softmax(q·kᵀ·scale + bias + mask)·v merged over heads, [B·nW, N, heads·d] (pattern window_attention).
    /// </summary>
    Tensor WindowAttention(Tensor qkv, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel kernel);

    /// <summary>
    /// <see cref="WindowAttention(Tensor, Tensor, Tensor?, int, float, FusedKernel)"/> finished by the kernel's generated
    /// <see cref="FusedKernel.Epilogue"/>, which reads the attention output and <paramref name="epilogueInputs"/> (its other input
    /// buffers, in order) and returns its outputs (new tensors the caller owns). By default the attention, then the epilogue as a
    /// kernel of its own; the CUDA backend runs both in one kernel.
    /// </summary>
    Tensor[] WindowAttention(Tensor qkv, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel kernel, int batch, DType io,
        params Tensor[] epilogueInputs)
        => ThenEpilogue(kernel, batch, io, epilogueInputs, template => WindowAttention(qkv, bias, mask, heads, scale, template));

    /// <summary>
    /// A window attention whose qkv is <paramref name="projection"/>'s result alone (x · wᵀ finished by its epilogue, a bias; the
    /// weight laid out by <see cref="QkvRelayout"/>), read by nothing else: by default the GEMM and then the attention
    /// (<see cref="QkvAttentionAsPair"/>); a backend may compute q, k and v inside the attention's kernel where it can. Returns the
    /// attention's output (a new tensor the caller owns), as <see cref="WindowAttention(Tensor, Tensor, Tensor?, int, float, FusedKernel)"/>;
    /// given <paramref name="output"/>, the output projection's result on it (by default its GEMM after the attention, <see cref="ThenOutput"/>).
    /// </summary>
    Tensor QkvAttention(GemmKernel projection, int batch, DType io, Tensor x, Tensor w, Tensor[] projectionInputs, Tensor bias, Tensor? mask, int heads,
        float scale, FusedKernel attention, AttentionOutput? output = null) =>
        ThenOutput(this, batch, io, output, QkvAttentionAsPair(this, projection, batch, io, x, w, projectionInputs, bias, mask, heads, scale, attention));

    /// <summary>
    /// <see cref="QkvAttention"/> whose x is the result of <paramref name="norm"/>, a generated LayerNorm + (roll) + window-partition
    /// kernel on <paramref name="normInputs"/> (the image, the norm's weight and bias; <paramref name="geometry"/> says where each window's
    /// token comes from), read by nothing else: by default the norm kernel and then <see cref="QkvAttention"/>
    /// (<see cref="NormQkvAttentionAsPair"/>); a backend whose attention computes q, k and v itself may also gather and normalize its
    /// windows there. Given <paramref name="output"/>, as <see cref="QkvAttention"/>.
    /// </summary>
    Tensor NormQkvAttention(GeneratedKernel norm, WindowNorm geometry, Tensor[] normInputs, GemmKernel projection, int batch, DType io, Tensor w,
        Tensor[] projectionInputs, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel attention, AttentionOutput? output = null) =>
        NormQkvAttentionAsPair(this, norm, normInputs, projection, batch, io, w, projectionInputs, bias, mask, heads, scale, attention, output);

    /// <summary>The norm kernel, then <see cref="QkvAttention"/> on its result, which is disposed afterwards even when the attention throws.</summary>
    public static Tensor NormQkvAttentionAsPair(IBackend backend, GeneratedKernel norm, Tensor[] normInputs, GemmKernel projection, int batch, DType io,
        Tensor w, Tensor[] projectionInputs, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel attention, AttentionOutput? output = null)
        => ThroughIntermediate(backend.Run(norm, batch, io, normInputs), $"QKV attention's norm: {norm.Name}", "the normalized windows", nameof(norm),
            x => backend.QkvAttention(projection, batch, io, x, w, projectionInputs, bias, mask, heads, scale, attention, output));

    /// <summary>
    /// <paramref name="attention"/> (an attention's result, disposed here) through the output projection's GEMM where
    /// <paramref name="output"/> is given, else <paramref name="attention"/> itself: the unfused form of <see cref="AttentionOutput"/>.
    /// </summary>
    public static Tensor ThenOutput(IBackend backend, int batch, DType io, AttentionOutput? output, Tensor attention)
    {
        if (output is null) return attention;
        Tensor[] projected;
        using (attention) projected = backend.Gemm(output.Projection, batch, io, attention, output.Weight, output.Inputs);
        if (projected.Length == 1) return projected[0];
        foreach (var t in projected) t.Dispose();
        throw new ArgumentException($"output projection {output.Projection.Name} must have one output, not {projected.Length}", nameof(output));
    }

    /// <summary>A window attention after its QKV projection as two calls: the projection's output is made, read once and disposed, even when the attention throws.</summary>
    public static Tensor QkvAttentionAsPair(IBackend backend, GemmKernel projection, int batch, DType io, Tensor x, Tensor w, Tensor[] projectionInputs,
        Tensor bias, Tensor? mask, int heads, float scale, FusedKernel attention)
        => ThroughIntermediate(backend.Gemm(projection, batch, io, x, w, projectionInputs), $"QKV attention: {projection.Name}", "q, k and v",
            nameof(projection), qkv => backend.WindowAttention(qkv, bias, mask, heads, scale, attention));

    /// <summary>
    /// A template (<paramref name="template"/>, given the kernel without its epilogue) and then <paramref name="kernel"/>'s generated
    /// epilogue as a kernel of its own, reading the template's result as its accumulator.
    /// </summary>
    private Tensor[] ThenEpilogue(FusedKernel kernel, int batch, DType io, Tensor[] epilogueInputs, Func<FusedKernel, Tensor> template) =>
        ThenEpilogue(this, kernel, batch, io, epilogueInputs, template);

    /// <summary>An MLP as its two GEMMs: the hidden tensor is made, read once and disposed, even when the second GEMM throws.</summary>
    public static Tensor[] MlpAsPair(IBackend backend, GemmKernel up, GemmKernel down, int batch, DType io, Tensor x, Tensor w1, Tensor[] upInputs,
        Tensor w2, Tensor[] downInputs)
        => ThroughIntermediate(backend.Gemm(up, batch, io, x, w1, upInputs), $"MLP: {up.Name}", "the hidden values", nameof(up),
            hidden => backend.Gemm(down, batch, io, hidden, w2, downInputs));

    /// <summary>
    /// <paramref name="next"/> on the one tensor a first call made (<paramref name="who"/> must have made exactly one, <paramref name="what"/>),
    /// which is disposed afterwards even when <paramref name="next"/> throws: the unfused form of a pair of calls.
    /// </summary>
    private static T ThroughIntermediate<T>(Tensor[] made, string who, string what, string parameter, Func<Tensor, T> next)
    {
        try
        {
            if (made.Length != 1) throw new ArgumentException($"{who} must have one output ({what}), not {made.Length}", parameter);
            return next(made[0]);
        }
        finally
        {
            foreach (var t in made) t.Dispose();
        }
    }

    /// <summary>The same for <paramref name="backend"/> (a backend that fuses the two where it can and falls back to this elsewhere).</summary>
    internal static Tensor[] ThenEpilogue(IBackend backend, FusedKernel kernel, int batch, DType io, Tensor[] epilogueInputs, Func<FusedKernel, Tensor> template)
    {
        var epilogue = Epilogue(kernel);
        using var result = template(kernel with { Epilogue = null });
        return backend.Run(epilogue, batch, io, KernelOperands.EpilogueInputs($"kernel {kernel.Name}", epilogue, result, epilogueInputs));
    }

    /// <summary>The kernel's generated epilogue, or an error naming the kernel when it has none.</summary>
    internal static GeneratedKernel Epilogue(FusedKernel kernel) =>
        kernel.Epilogue ?? throw new FusionException($"kernel {kernel.Name} has no epilogue; call its operator without epilogue inputs");
}
