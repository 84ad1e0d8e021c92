using Fusion.Cuda;
using Fusion.Cuda.Fused;
using Fusion.Cuda.Gemm;
using Fusion.Cuda.Generated;
using static Fusion.OperandChecks;

namespace Fusion;

/// <summary>Part of <see cref="CudaBackend"/>: A compiled model's steps: generated kernels, GEMMs with generated epilogues, the attention template and the load-time builders.</summary>
public sealed partial class CudaBackend
{
    /// <summary>A load-time constant: gathered on the host by the CPU backend and uploaded.</summary>
    public Tensor RelativePositionBias(Tensor table, int window)
    {
        var (input, _) = _rules.RelativePositionBias(table, window);
        using var host = input.ToHost();
        using var bias = CpuBackend.Instance.RelativePositionBias(host, window);
        return CudaTensor.FromHost(Stream, (CpuTensor)bias);
    }

    /// <summary>A load-time constant: re-laid out on the host by the CPU backend and uploaded.</summary>
    public Tensor QkvRelayout(Tensor x, int heads)
    {
        var input = _rules.QkvRelayout(x, heads);
        using var host = input.ToHost();
        using var relaid = CpuBackend.Instance.QkvRelayout(host, heads);
        return CudaTensor.FromHost(Stream, (CpuTensor)relaid);
    }

    /// <summary>A load-time constant: computed on the host by the CPU backend and uploaded.</summary>
    public Tensor ShiftedWindowMask(int height, int width, int window, int shift, DType dtype)
    {
        using var mask = CpuBackend.Instance.ShiftedWindowMask(height, width, window, shift, dtype);
        return CudaTensor.FromHost(Stream, (CpuTensor)mask);
    }

    public Tensor[] Run(GeneratedKernel kernel, int batch, DType io, params Tensor[] inputs)
    {
        var outputs = KernelOperands.Check(kernel, batch, io, inputs);
        var buffers = new List<CudaTensor>();
        var scratch = new List<CudaTensor>();
        var results = new List<CudaTensor>();
        try
        {
            var declared = kernel.Ir.Inputs.ToList();
            for (int i = 0; i < inputs.Length; i++)
            {
                var t = _rules.Resident(inputs[i], $"{kernel.Name} input {declared[i].Name}");
                // An accumulator may arrive in either float type; the printed kernel reads the one it declares.
                var want = LoopInterpreter.Resolve(declared[i].Type, io);
                if (t.DType != want)
                {
                    t = (CudaTensor)Cast(t, want);
                    scratch.Add(t);
                }
                buffers.Add(t);
            }
            foreach (var (shape, dtype) in outputs) results.Add(CudaTensor.Empty(Stream, dtype, shape));
            _state.Generated.Launch(kernel, batch, io, buffers.Concat(results).ToList(), Stream);
            return [.. results];
        }
        catch
        {
            foreach (var r in results) r.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in scratch) t.Dispose();
        }
    }

    /// <summary>
    /// fp16: the GEMM template with the epilogue printed into it, or cuBLASLt (FusedGemm chooses). float32 (the template is fp16): the
    /// product through cuBLASLt, then the epilogue kernel. An int8 kernel takes int8 x and weight, on its template (sm_80 or newer); its
    /// outputs are the epilogue's, as any GEMM's.
    /// </summary>
    public Tensor[] Gemm(GemmKernel kernel, int batch, DType io, Tensor x, Tensor weight, params Tensor[] epilogueInputs)
    {
        var shape = KernelOperands.Product(kernel, x, weight);
        var input = _rules.Resident(x, $"{kernel.Name} x");
        var w = _rules.Resident(weight, $"{kernel.Name} weight");
        if (input.DType == DType.Float32 && !kernel.Int8)
        {
            // A float32 convolution multiplies its gathered im2col matrix: the template that reads the image itself is fp16 and int8.
            using var columns = kernel.Conv is { } conv ? (CudaTensor)Run(conv.Gather(kernel.Name, DType.Float32), x.Shape[0], io, input)[0] : null;
            using var product = (CudaTensor)Linear(columns ?? input, w, null);
            return Run(kernel.Epilogue, batch, io, KernelOperands.EpilogueInputs(kernel, product, epilogueInputs));
        }
        return WithEpilogue(kernel.Name, kernel.Epilogue, batch, io, KernelOperands.EpilogueInputs(kernel, null, epilogueInputs), epilogueInputs,
            (ins, results) => _state.Gemm.Run(kernel, input, w, ins, results, batch, io, Stream));
    }

    /// <summary>
    /// FUSION_KERNELS=ilgpu: every kernel that has an ILGPU version runs it, so the shipped CUDA C fusions (the MLP, the attention's QKV
    /// prologue), which have none, give way to the GEMMs and the attention they would replace.
    /// </summary>
    private bool AllIlgpu => _state.Generated.Language == KernelLanguage.Ilgpu;

    /// <summary>
    /// The MLP in one kernel where one applies and pays, its output the down projection epilogue's: where FUSION_MLP is on (the
    /// default), the persistent kernel with the weights resident (<see cref="FusedMlp.WhyNot"/>) for rows enough to give every SM a
    /// tile (<see cref="FusedMlp.Pays"/>); else, where FUSION_CLUSTER_MLP is on (off by default: slower), the kernel splitting the hidden units
    /// over a cluster (<see cref="ClusterMlp.WhyNot"/>) for rows few enough to fit one wave (<see cref="ClusterMlp.Form"/>); else the
    /// two GEMMs (<see cref="IBackend.MlpAsPair"/>).
    /// </summary>
    public Tensor[] Mlp(GemmKernel up, GemmKernel down, int batch, DType io, Tensor x, Tensor w1, Tensor[] upInputs, Tensor w2, Tensor[] downInputs)
    {
        if (!(FusedMlp.Enabled || ClusterMlp.Enabled) || AllIlgpu) return IBackend.MlpAsPair(this, up, down, batch, io, x, w1, upInputs, w2, downInputs);
        var (input, first, second) = (_rules.Resident(x, $"{up.Name} x"), _rules.Resident(w1, $"{up.Name} weight"), _rules.Resident(w2, $"{down.Name} weight"));
        var ups = upInputs.Select((t, i) => _rules.Resident(t, $"{up.Name} epilogue input {i}")).ToList();
        var downs = downInputs.Select((t, i) => _rules.Resident(t, $"{down.Name} epilogue input {i}")).ToList();
        long rows = input.ElementCount / Math.Max(1, up.K);
        bool tanhGelu = up.Cublas?.Activation == Activation.GeluTanh;
        Action<CudaTensor, CudaTensor, CudaTensor>? kernel = null;  // (b2, residual, output)
        if (FusedMlp.Enabled && FusedMlp.WhyNot(up, down, _state.Device, io, input, first, second, ups, downs) is null
            && FusedMlp.Pays(rows, _state.Device.MultiprocessorCount))
            kernel = (b2, residual, output) => _state.Mlp.Run(input, first, ups[up.Cublas!.Bias], second, b2, residual, output, tanhGelu, Stream);
        else if (ClusterMlp.Enabled && ClusterMlp.WhyNot(up, down, _state.Device, io, input, first, second, ups, downs) is null
            && _state.ClusterMlp.Form(rows, up.K, up.N, tanhGelu, _state.Device) is { } form)
            kernel = (b2, residual, output) => ClusterMlp.Run(input, first, ups[up.Cublas!.Bias], second, b2, residual, output, form, Stream);
        if (kernel is null) return IBackend.MlpAsPair(this, up, down, batch, io, x, w1, upInputs, w2, downInputs);
        var d = down.Cublas!;
        return WithEpilogue(down.Name, down.Epilogue, batch, io, KernelOperands.EpilogueInputs(down, null, downInputs), downInputs, (ins, results) =>
        {
            if (results.Count != 1 || results[0].DType != DType.Float16 || results[0].ElementCount != input.ElementCount)
                throw new FusionException($"kernel {down.Name}: the fused MLP stores one fp16 output of x's size, not {string.Join(", ", results.Select(r => r.DType.ShortName() + r.Shape))}");
            kernel(ins[d.Bias], ins[d.Residual], results[0]);
        });
    }

    /// <summary>
    /// The window attention computing q, k and v itself where FUSION_QKV_ATTENTION is on (the default), the prologue form applies
    /// (<see cref="QkvWindowAttention.WhyNot"/>) and pays (<see cref="QkvWindowAttention.Pays(FusedKernel, CudaTensor, CudaStream, bool, bool)"/>);
    /// else the projection's GEMM, then the attention (<see cref="IBackend.QkvAttentionAsPair"/>). Given <paramref name="output"/>, its
    /// projection too where FUSION_QKV_OUT is not off and that form applies (<see cref="QkvWindowAttention.WhyNotOut"/>) and pays, else its GEMM after.
    /// </summary>
    public Tensor QkvAttention(GemmKernel projection, int batch, DType io, Tensor x, Tensor w, Tensor[] projectionInputs, Tensor bias, Tensor? mask, int heads,
        float scale, FusedKernel attention, AttentionOutput? output = null) =>
        QkvForms(projection, batch, io, x, w, projectionInputs, bias, mask, heads, scale, attention, norm: null, output)
        ?? IBackend.ThenOutput(this, batch, io, output, IBackend.QkvAttentionAsPair(this, projection, batch, io, x, w, projectionInputs, bias, mask, heads, scale, attention));

    /// <summary>
    /// The window attention gathering, normalizing and projecting its windows itself where FUSION_QKV_ATTENTION is on and FUSION_QKV_NORM
    /// not off, both prologues apply (<see cref="QkvWindowAttention.WhyNot"/>, <see cref="QkvWindowAttention.WhyNotNorm"/>) and
    /// the form pays for these windows (<see cref="QkvWindowAttention.Pays(FusedKernel, CudaTensor, CudaStream, bool, bool)"/>); else the norm kernel, then <see cref="QkvAttention"/>. Given <paramref name="output"/>, as
    /// <see cref="QkvAttention"/>.
    /// </summary>
    public Tensor NormQkvAttention(GeneratedKernel norm, WindowNorm geometry, Tensor[] normInputs, GemmKernel projection, int batch, DType io, Tensor w,
        Tensor[] projectionInputs, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel attention, AttentionOutput? output = null) =>
        (normInputs.Length == 3
            ? QkvForms(projection, batch, io, normInputs[0], w, projectionInputs, bias, mask, heads, scale, attention, (norm.Name, geometry, normInputs[1], normInputs[2]), output)
            : null)
        ?? IBackend.NormQkvAttentionAsPair(this, norm, normInputs, projection, batch, io, w, projectionInputs, bias, mask, heads, scale, attention, output);

    /// <summary>
    /// The one-kernel forms in turn: with the output projection where <paramref name="output"/> is given (<see cref="QkvForm"/>), else
    /// without it and the projection's GEMM after (<see cref="IBackend.ThenOutput"/>); null where neither runs.
    /// </summary>
    private Tensor? QkvForms(GemmKernel projection, int batch, DType io, Tensor x, Tensor w, Tensor[] projectionInputs, Tensor bias, Tensor? mask, int heads,
        float scale, FusedKernel attention, (string Name, WindowNorm Geometry, Tensor Weight, Tensor Bias)? norm, AttentionOutput? output) =>
        (output is null ? null : QkvForm(projection, io, x, w, projectionInputs, bias, mask, heads, scale, attention, norm, output))
        ?? (QkvForm(projection, io, x, w, projectionInputs, bias, mask, heads, scale, attention, norm, output: null) is { } attended
            ? IBackend.ThenOutput(this, batch, io, output, attended)
            : null);

    /// <summary>
    /// The attention with its QKV prologue (and, given <paramref name="norm"/>, its norm prologue: x is then the image the named norm
    /// kernel would read; given <paramref name="output"/>, the output projection after it) as one kernel, or null where
    /// FUSION_QKV_ATTENTION (or FUSION_QKV_OUT) is off, the form does not apply or does not pay: the caller then runs the calls it replaces.
    /// </summary>
    private Tensor? QkvForm(GemmKernel projection, DType io, Tensor x, Tensor w, Tensor[] projectionInputs, Tensor bias, Tensor? mask, int heads,
        float scale, FusedKernel attention, (string Name, WindowNorm Geometry, Tensor Weight, Tensor Bias)? norm, AttentionOutput? output) =>
        QkvFormLaunch(projection, io, x, w, projectionInputs, bias, mask, heads, scale, attention, norm, output)?.Invoke();

    /// <summary>
    /// Whether <see cref="QkvAttention"/> (<paramref name="norm"/> null) or <see cref="NormQkvAttention"/> would run the one-kernel form,
    /// with the output projection inside where <paramref name="output"/> is given, on these operands: the switches, the form's
    /// conditions and its rule, as the call itself decides them (it compiles the form if need be). For the profiler, whose rows follow
    /// the kernels that run.
    /// </summary>
    public bool RunsQkvForm(GemmKernel projection, DType io, Tensor x, Tensor w, Tensor[] projectionInputs, Tensor bias, Tensor? mask, int heads,
        FusedKernel attention, (string Name, WindowNorm Geometry, Tensor Weight, Tensor Bias)? norm, AttentionOutput? output) =>
        QkvFormLaunch(projection, io, x, w, projectionInputs, bias, mask, heads, scale: 1, attention, norm, output) is not null;

    /// <summary><see cref="QkvForm"/>'s decision: the launch that allocates and computes its result, or null where the form does not run.</summary>
    private Func<Tensor>? QkvFormLaunch(GemmKernel projection, DType io, Tensor x, Tensor w, Tensor[] projectionInputs, Tensor bias, Tensor? mask, int heads,
        float scale, FusedKernel attention, (string Name, WindowNorm Geometry, Tensor Weight, Tensor Bias)? norm, AttentionOutput? output)
    {
        if (!QkvWindowAttention.Enabled || AllIlgpu || (output is not null && QkvWindowAttention.Out == FormMode.Off)
            || (norm is not null && QkvWindowAttention.Norm == FormMode.Off)) return null;
        var input = _rules.Resident(x, $"{norm?.Name ?? projection.Name} x");
        var weight = _rules.Resident(w, $"{projection.Name} weight");
        var inputs = projectionInputs.Select((t, i) => _rules.Resident(t, $"{projection.Name} epilogue input {i}")).ToList();
        var (table, windowMask) = (_rules.Resident(bias, $"{attention.Name} bias"), mask is null ? null : _rules.Resident(mask, $"{attention.Name} mask"));
        var prologue = norm is { } n
            ? new QkvWindowAttention.NormOperands(_rules.Resident(n.Weight, $"{n.Name} weight"), _rules.Resident(n.Bias, $"{n.Name} bias"), n.Geometry)
            : null;
        QkvWindowAttention.OutOperands? project = null;
        if (output is not null)
        {
            var (outWeight, outInputs) = (_rules.Resident(output.Weight, $"{output.Projection.Name} weight"),
                output.Inputs.Select((t, i) => _rules.Resident(t, $"{output.Projection.Name} epilogue input {i}")).ToList());
            if (QkvWindowAttention.WhyNotOut(output.Projection, attention, _state.Device, io, projection.K, outWeight, outInputs) is not null) return null;
            project = new QkvWindowAttention.OutOperands(outWeight, outInputs[output.Projection.Cublas!.Bias]);
        }
        if (QkvWindowAttention.WhyNot(projection, attention, _state.Device, io, input, weight, inputs, table, windowMask, heads) is not null
            || (prologue is not null && QkvWindowAttention.WhyNotNorm(prologue.Geometry, attention, input, prologue.Gamma, prologue.Beta, projection.K) is not null)
            || !_state.QkvAttention.Pays(attention, input, Stream, norm: prologue is not null, output: project is not null))
            return null;
        int tokens = attention.Constant("TOKENS"), d = attention.Constant("HEAD_DIM");
        var shape = new Shape(checked((int)(input.ElementCount / ((long)tokens * input.Shape[-1]))), tokens, heads * d);
        return () => FusedChecks.Allocated(Stream, shape, result =>
            _state.QkvAttention.Run(input, weight, inputs[projection.Cublas!.Bias], table, windowMask, scale, result, attention, Stream, prologue, project));
    }

    public Tensor WindowAttention(Tensor qkv, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel kernel) =>
        IsFloat32(qkv, "WindowAttention qkv")
        ? FusedChains.WindowAttention(this, qkv, bias, mask, heads, scale)
        : _state.WindowAttention.Run(Fused(qkv, "WindowAttention qkv"), Fused(bias, "WindowAttention bias"),
            mask is null ? null : Fused(mask, "WindowAttention mask"), heads, scale, kernel, Stream);

    /// <summary>The flash-attention kernel on fp16 operands; float32 operands run the chain it replaces (cuBLASLt and backend ops).</summary>
    public Tensor Attention(Tensor q, Tensor k, Tensor v, Tensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel) =>
        IsFloat32(q, "Attention q")
        ? FusedChains.Attention(this, q, k, v, bias, layout, scale, causal)
        : _state.Attention.Run(Fused(q, "Attention q"), Fused(k, "Attention k"), Fused(v, "Attention v"), bias is null ? null : Fused(bias, "Attention bias"),
            layout, scale, causal, kernel, Stream);

    public Tensor[] WindowAttention(Tensor qkv, Tensor bias, Tensor? mask, int heads, float scale, FusedKernel kernel, int batch, DType io,
        params Tensor[] epilogueInputs) =>
        TemplateWithEpilogue(kernel, IsFloat32(qkv, "WindowAttention qkv"), batch, io, epilogueInputs,
            template => WindowAttention(qkv, bias, mask, heads, scale, template),
            (ins, results) => _state.WindowAttention.Run(Fused(qkv, "WindowAttention qkv"), Fused(bias, "WindowAttention bias"),
                mask is null ? null : Fused(mask, "WindowAttention mask"), heads, scale, kernel, batch, io, ins, results, Stream));

    public Tensor[] Attention(Tensor q, Tensor k, Tensor v, Tensor? bias, AttentionLayout layout, float scale, bool causal, FusedKernel kernel, int batch,
        DType io, params Tensor[] epilogueInputs) =>
        TemplateWithEpilogue(kernel, IsFloat32(q, "Attention q"), batch, io, epilogueInputs,
            template => Attention(q, k, v, bias, layout, scale, causal, template),
            (ins, results) => _state.Attention.Run(Fused(q, "Attention q"), Fused(k, "Attention k"), Fused(v, "Attention v"),
                bias is null ? null : Fused(bias, "Attention bias"), layout, scale, causal, kernel, batch, io, ins, results, Stream));

    /// <summary>
    /// A fused template finished by its generated epilogue: on float32 operands the template alone (which runs the chain it replaces)
    /// and then the epilogue as a kernel, as <see cref="IBackend"/> does by default; on fp16 ones the template with the epilogue printed
    /// in (<paramref name="launch"/>).
    /// </summary>
    private Tensor[] TemplateWithEpilogue(FusedKernel kernel, bool float32, int batch, DType io, Tensor[] epilogueInputs, Func<FusedKernel, Tensor> template,
        Action<List<CudaTensor>, List<CudaTensor>> launch)
    {
        if (float32) return IBackend.ThenEpilogue(this, kernel, batch, io, epilogueInputs, template);
        var epilogue = IBackend.Epilogue(kernel);
        return WithEpilogue(kernel.Name, epilogue, batch, io, KernelOperands.EpilogueInputs($"kernel {kernel.Name}", epilogue, null, epilogueInputs),
            epilogueInputs, launch);
    }

    /// <summary>
    /// A template that finishes with <paramref name="epilogue"/> in the same kernel: checks the epilogue's operands as its kernel sees
    /// them (<paramref name="ordered"/>, with a null accumulator: the template's result is made inside), allocates its outputs and
    /// hands both to <paramref name="launch"/>; the outputs are disposed if it throws.
    /// </summary>
    private Tensor[] WithEpilogue(string name, GeneratedKernel epilogue, int batch, DType io, Tensor?[] ordered, Tensor[] epilogueInputs,
        Action<List<CudaTensor>, List<CudaTensor>> launch)
    {
        var outputs = KernelOperands.Check(epilogue, batch, io, ordered);
        var ins = epilogueInputs.Select((t, i) => _rules.Resident(t, $"{name} epilogue input {i}")).ToList();
        var results = outputs.Select(o => CudaTensor.Empty(Stream, o.DType, o.Shape)).ToList();
        try
        {
            launch(ins, results);
            return [.. results];
        }
        catch
        {
            foreach (var r in results) r.Dispose();
            throw;
        }
    }

    /// <summary>An operand of a fused operator: a live float tensor of this device (the launcher checks shapes against its kernel).</summary>
    private CudaTensor Fused(Tensor tensor, string what) => _rules.Float(tensor, what);

    /// <summary>Whether a fused operator's leading operand (a live float tensor of this device) is float32.</summary>
    private bool IsFloat32(Tensor tensor, string what)
    {
        ArgumentNullException.ThrowIfNull(tensor, what);
        return Fused(tensor, what).DType == DType.Float32;
    }
}
