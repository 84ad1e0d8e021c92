namespace Fusion.Generator.Ir
{
    /// <summary>
    /// What one precision plan runs, in order: the scheduler's result, which the emitter only prints. Constant steps (values
    /// computed from parameters alone) run once per backend in the constant builder; the rest run on every call.
    /// </summary>
    /// <param name="Hoisted">The constant values the per-call steps read, in the order the constant builder returns them.</param>
    internal sealed record Schedule(EquatableArray<Step> Steps, EquatableArray<int> Hoisted, EquatableArray<FusionDecision> Decisions);

    internal enum StepKind
    {
        /// <summary>A kernel generated from the loop IR (a fused pointwise / layout / reduction group).</summary>
        Kernel,

        /// <summary>The GEMM template with its generated epilogue (a Linear and the pointwise chain after it).</summary>
        Gemm,

        /// <summary>One operator through the backend's own kernel (parameters, batched products, templates, load-time ops).</summary>
        Call,

        /// <summary>A reshape of a value that is already in memory: a view, no kernel.</summary>
        View,

        /// <summary>A lone cast from or to the run's input/output type: a view when the types agree, else one conversion.</summary>
        Convert,

        /// <summary>A hand-written template (window attention) with the pointwise chain after it printed in as its epilogue.</summary>
        Template,

        /// <summary>
        /// Two GEMMs whose first's result only the second reads, an MLP's up and down projections (<see cref="Step.Gemm"/> and
        /// <see cref="Step.Second"/>): the backend's Mlp, one kernel where it has one for the shapes, else the two GEMMs.
        /// </summary>
        Mlp,

        /// <summary>
        /// A window attention after the QKV projection whose result only it reads (<see cref="Step.Gemm"/>; the attention is the step's
        /// node, its inputs after the projection's from <see cref="Step.SecondAt"/>): the backend's QkvAttention, one kernel where it can
        /// compute q, k and v inside the attention, else the GEMM and then the attention. It may also take the norm kernel before it
        /// (<see cref="Step.Norm"/>) and the output projection after it (<see cref="Step.Second"/>).
        /// </summary>
        QkvAttention,
    }

    /// <summary>One step: what it computes, which values it reads and writes, and which values die after it.</summary>
    /// <param name="Node">The graph node a Call or View computes; a Gemm's Linear node; a Kernel's first output.</param>
    /// <param name="Inputs">The values read, in argument order (a Gemm: x, weight, then the epilogue's inputs).</param>
    /// <param name="Frees">Values whose last reader this step is (disposed right after it).</param>
    /// <param name="Members">The graph nodes the step computes (for reports and the keep-list).</param>
    internal sealed record Step(
        StepKind Kind,
        bool Constant,
        int Node,
        EquatableArray<int> Inputs,
        EquatableArray<int> Outputs,
        EquatableArray<int> Members,
        GeneratedKernelSpec? Kernel,
        GemmSpec? Gemm)
    {
        public EquatableArray<int> Frees { get; init; } = EquatableArray<int>.Empty;

        /// <summary>The specialized template of a Template step.</summary>
        public TemplateSpec? Template { get; init; }

        /// <summary>
        /// An Mlp step's second GEMM (the down projection), its inputs (weight, then epilogue inputs) from <see cref="SecondAt"/>; or a
        /// QkvAttention step's output projection (<see cref="Passes.AttentionOutputPairs"/>), its inputs from <see cref="OutputAt"/>.
        /// </summary>
        public GemmSpec? Second { get; init; }

        /// <summary>Where an Mlp step's second GEMM's inputs, or a QkvAttention step's attention inputs after qkv, start in <see cref="Inputs"/>.</summary>
        public int SecondAt { get; init; }

        /// <summary>Where a QkvAttention step's output projection's inputs (weight, then its bias) start in <see cref="Inputs"/>; 0 without one.</summary>
        public int OutputAt { get; init; }

        /// <summary>
        /// A QkvAttention step's norm prologue (<see cref="Passes.NormQkvAttentionPairs"/>): the step's first three inputs are then the
        /// LayerNorm's x, weight and bias, <see cref="Kernel"/> the generated norm + partition kernel that computes the attention's x.
        /// </summary>
        public WindowNormSpec? Norm { get; init; }

        /// <summary>The kernel's name for reports: the generated kernel's, the GEMM's (an Mlp step's two), the template's, or "".</summary>
        public string KernelName => Norm is not null ? Kernel!.Name + " + " + Gemm!.Name : Kind == StepKind.QkvAttention ? Gemm!.Name : Kernel?.Name ?? (Gemm is null ? null : Second is null ? Gemm.Name : Gemm.Name + " + " + Second.Name) ?? Template?.Name ?? "";
    }

    /// <summary>
    /// Where a window attention's x comes from when its norm prologue runs in its kernel: LayerNorm (eps) over the last axis of a
    /// [B, Height, Width, C] image, rolled by Shift along H and W (torch.roll: out[i] = x[(i − Shift) mod n]), cut into Window × Window windows.
    /// </summary>
    internal sealed record WindowNormSpec(double Eps, int Height, int Width, int Window, int Shift);

    /// <summary>A kernel generated from the loop IR: its name, the IR as text, the printed CUDA C and how to launch it.</summary>
    /// <param name="Ops">What it computes, one entry per fused operator call, for the report.</param>
    internal sealed record GeneratedKernelSpec(string Name, string LoopIr, string Cuda, string Launch, string Strategy, EquatableArray<string> Ops)
    {
        /// <summary>The same kernel as ILGPU C#: one static method per io variant (<see cref="Fusion.Compiler.IlgpuKernelPrinter"/>).</summary>
        public string Ilgpu { get; init; } = "";
    }

    /// <summary>
    /// The GEMM template specialized for one Linear with its generated epilogue, the same epilogue as a standalone kernel
    /// (the CPU twin, and the cuBLASLt path's second kernel), and the cuBLASLt epilogue that does the same work when there is one.
    /// </summary>
    /// <param name="CublasActivation">-1 when cuBLASLt cannot express the epilogue; else 0 none, 1 relu, 2 gelu (erf), 3 gelu (tanh).</param>
    /// <param name="CublasBias">The epilogue input that is the bias, or -1.</param>
    /// <param name="CublasResidual">The epilogue input added after everything, or before the activation when <see cref="CublasResidualFirst"/> (cuBLASLt's C with beta = 1), or -1.</param>
    internal sealed record GemmSpec(string Name, int N, int K, int KW, string Cuda, GeneratedKernelSpec Epilogue, int CublasActivation, int CublasBias, int CublasResidual)
    {
        /// <summary>The same GEMM as ILGPU C#: the template printed with its epilogue, one method per io variant (<see cref="Fusion.Compiler.IlgpuGemmPrinter"/>).</summary>
        public string Ilgpu { get; init; } = "";

        /// <summary>Both operands int8 codes (the Int8 plan's quantized Linears): the template's int8 form, int32 sums.</summary>
        public bool Int8 { get; init; }

        /// <summary>Both operands FP8 E4M3 codes (the Fp8 plan's quantized Linears): cuBLASLt's FP8 product only (no template source).</summary>
        public bool Fp8 { get; init; }

        /// <summary>The residual is added before the activation (relu(x·wᵀ + bias + residual)), as cuBLASLt adds its C, not after it.</summary>
        public bool CublasResidualFirst { get; init; }

        /// <summary>The epilogue ends with a cast to the run's io type: cuBLASLt's form serves where io is the GEMM's own type at run time.</summary>
        public bool CublasToIo { get; init; }

        /// <summary>An FP8 product's one-element dequantize factor (cuBLASLt's A scale): its epilogue input, or -1.</summary>
        public int CublasScale { get; init; } = -1;

        /// <summary>An FP8 product's one-element output scale when it stores E4M3 codes (cuBLASLt's D scale): its epilogue input, or -1.</summary>
        public int CublasOutScale { get; init; } = -1;

        /// <summary>An implicit-GEMM convolution: x is this channels-last image, read as its im2col matrix; null for a plain GEMM.</summary>
        public ConvGemm? Conv { get; init; }
    }

    /// <summary>
    /// A template (pattern, constants) specialized for one node with a generated epilogue printed in: its CUDA C, and the epilogue
    /// as a standalone kernel (the CPU twin's second half, and the float32 path's).
    /// </summary>
    internal sealed record TemplateSpec(string Name, string Pattern, EquatableArray<KernelConstant> Constants, string Cuda, GeneratedKernelSpec Epilogue)
    {
        /// <summary>The same template and epilogue as ILGPU C# (one method per io variant), or "" where the template has no ILGPU version (<see cref="Emit.IlgpuTemplateSource"/>).</summary>
        public string Ilgpu { get; init; } = "";
    }
}
