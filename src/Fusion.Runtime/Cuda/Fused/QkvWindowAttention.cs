using System.Globalization;

namespace Fusion.Cuda.Fused;

/// <summary>
/// A window attention with its QKV projection as the template's prologue (window_attention.cut compiled with FUSION_WA_PROJECT): each
/// block keeps its head's rows of the projection's weight in shared memory and computes q, k and v of each of its windows from x
/// itself, so the projection's output (three times x) is never written to memory or read back, and one kernel replaces two. It
/// applies where the attention's tensor-core body does (HEAD_DIM a multiple of 16 up to 64, TOKENS up to 64), the projection is a
/// plain Linear with a bias (cuBLASLt's form), everything is fp16 and the shared memory fits (<see cref="WhyNot"/>); elsewhere the
/// backend runs the GEMM and then the attention (<see cref="IBackend.QkvAttentionAsPair"/>).
/// <c>FUSION_QKV_ATTENTION=on|off</c>, on by default, and then only where it pays (<see cref="Pays(int, long, int)"/>): each block's
/// projection runs on 4 warps, so the form gains where several blocks share an SM or the grid is one wave, and loses where one block
/// of a large C holds an SM through many waves.
/// </summary>
public sealed class QkvWindowAttention : IDisposable
{
    public const string Variable = "FUSION_QKV_ATTENTION";

    /// <summary>Threads a block (the template's WA_WARPS · 32).</summary>
    private const int Threads = 128;

    /// <summary>Token rows a window is padded to in shared memory (the template's WA_ROWS_PADDED).</summary>
    private const int PaddedRows = 64;

    private static readonly Lazy<bool> s_enabled = new(() => Parse(Environment.GetEnvironmentVariable(Variable)));

    /// <summary>$FUSION_QKV_ATTENTION, read once (<see cref="Parse"/>).</summary>
    public static bool Enabled => s_enabled.Value;

    /// <summary>on, 1, off or 0 (unset or blank: on); anything else is an error naming the variable.</summary>
    public static bool Parse(string? value) => OnOffSwitch.Parse(Variable, value, unset: true);

    /// <summary>
    /// <c>FUSION_QKV_NORM=auto|on|off</c>: whether the QKV form also takes a Swin block's norm1, roll and window partition as its prologue
    /// (<see cref="CudaBackend.NormQkvAttention"/>), gathering each window from the image and normalizing it in shared memory; off runs
    /// the norm kernel first (the default, until auto is measured on the whole model). Only where the QKV form itself runs. Auto takes
    /// it only where <see cref="RepeatedWorkPays"/> holds: each head's block normalizes the same window, which at 12 heads, or where the
    /// grid is more than one wave, cost more than the norm kernel it replaces (Swin-T on an H100 2026-12-06, on everywhere: 0.333 → 0.349 ms at
    /// batch 1, 2.382 → 2.415 at batch 64; inside the graph at batch 1 a block's norm kernel + attention 9.2 → 8.1 µs at 3 heads,
    /// 8.2 → 7.1 at 6, 8.6 → 11.3 at 12; docs/perf.md); on takes it wherever the QKV form runs.
    /// </summary>
    public const string NormVariable = "FUSION_QKV_NORM";

    private static readonly Lazy<FormMode> s_norm = new(() => ParseNorm(Environment.GetEnvironmentVariable(NormVariable)));

    /// <summary>$FUSION_QKV_NORM, read once (<see cref="ParseNorm"/>).</summary>
    public static FormMode Norm => s_norm.Value;

    /// <summary>auto, on, 1, off or 0 (unset or blank: off); anything else is an error naming the variable.</summary>
    public static FormMode ParseNorm(string? value) => FormSwitch.Parse(NormVariable, value, unset: FormMode.Off);

    /// <summary>The norm prologue's own operands: the LayerNorm's weight and bias [C], and where each window's token comes from.</summary>
    public sealed record NormOperands(CudaTensor Gamma, CudaTensor Beta, WindowNorm Geometry);

    /// <summary>
    /// <c>FUSION_QKV_OUT=auto|on|off</c>: whether the QKV form also multiplies each window's heads by the output projection after the
    /// attention (<see cref="AttentionOutput"/>), on thread-block clusters of one block a head (sm_90); off runs the projection's GEMM
    /// after it (the default, until auto is measured on the whole model). Only where the QKV form itself runs. Auto takes it only where
    /// <see cref="RepeatedWorkPays"/> holds: each head's block gathers every head's rows and a cluster runs its windows in lockstep, which at 12 heads, or over
    /// several waves, cost more than the GEMM it replaces (Swin-T on an H100 2026-12-06, on everywhere: 0.333 → 0.351 ms at batch 1,
    /// 2.382 → 2.500 at batch 64; inside the graph at batch 1 attention + GEMM 10.2 → 9.6 µs at 3 heads, 9.7 → 9.1 at 6, 9.9 → 13.1
    /// at 12; docs/perf.md); on takes it wherever the QKV form runs.
    /// </summary>
    public const string OutVariable = "FUSION_QKV_OUT";

    private static readonly Lazy<FormMode> s_out = new(() => ParseOut(Environment.GetEnvironmentVariable(OutVariable)));

    /// <summary>$FUSION_QKV_OUT, read once (<see cref="ParseOut"/>).</summary>
    public static FormMode Out => s_out.Value;

    /// <summary>auto, on, 1, off or 0 (unset or blank: off); anything else is an error naming the variable.</summary>
    public static FormMode ParseOut(string? value) => FormSwitch.Parse(OutVariable, value, unset: FormMode.Off);

    /// <summary>The output projection's operands: its weight [C, C] and bias [C].</summary>
    public sealed record OutOperands(CudaTensor Weight, CudaTensor Bias);

    /// <summary>The most blocks a cluster may have on the GPUs Fusion runs (16 with the non-portable attribute, 8 without): the heads a window.</summary>
    public const int MaxClusterHeads = 16;

    /// <summary>
    /// Whether the prologue form is worth launching: where at least 3 of its blocks fit an SM, or all (window, head) pairs fit one wave
    /// of resident blocks. Swin-T on an H100 (2026-12-06, each call inside the graph, summed over a stage's two blocks, the pair's GEMM
    /// and attention against the one kernel): batch 64 stage 1 (C 96, 3 blocks an SM) 0.281 → 0.222 ms, stage 2 (C 192, 2 an SM,
    /// 3 waves) 0.154 → 0.192, stage 3 (C 384, 1 an SM; six calls) 0.268 → 0.609; batch 1 (one wave each) stage 1 0.029 → 0.018,
    /// stage 2 0.026 → 0.017, stage 3 0.074 → 0.057.
    /// </summary>
    public static bool Pays(int residentBlocksPerSm, long pairs, int multiprocessors) =>
        residentBlocksPerSm >= 3 || pairs <= (long)residentBlocksPerSm * multiprocessors;

    /// <summary>The most heads a window at which the norm prologue and the output projection, done once a head, pay in auto.</summary>
    public const int MaxRepeatingHeads = 6;

    /// <summary>
    /// Whether the forms that repeat a window's work in each of its heads' blocks (the norm prologue's gather and normalization, the
    /// output projection's gather of every head's rows) pay: at most <see cref="MaxRepeatingHeads"/> heads and every (window, head)
    /// pair in one wave of resident blocks. Measured inside the graph (H100, 2026-12-06): at batch 1 each gains about a microsecond a
    /// block at 3 and 6 heads and loses 3 µs at 12; at batch 64 (stage 1, three blocks an SM over many waves) both lose.
    /// </summary>
    public static bool RepeatedWorkPays(int heads, long pairs, int residentBlocksPerSm, int multiprocessors) =>
        heads <= MaxRepeatingHeads && pairs <= (long)residentBlocksPerSm * multiprocessors;

    /// <summary>
    /// <see cref="Pays(int, long, int)"/> for this attention's prologue form at x's channels and window count on this GPU, with the norm
    /// prologue or not, with the output projection or not (compiles that form if need be: its registers decide the blocks an SM); with
    /// either taken in auto (<see cref="Norm"/>, <see cref="Out"/>), <see cref="RepeatedWorkPays"/> as well.
    /// </summary>
    public bool Pays(FusedKernel attention, CudaTensor x, CudaStream stream, bool norm = false, bool output = false)
    {
        var form = Form(attention, x, stream.Device, norm, output);
        int heads = attention.Constant("HEADS"), sms = stream.Device.MultiprocessorCount;
        long pairs = (long)form.Windows * heads;
        if (output && form.Function.ResidentClusters(Threads, form.Shared, heads) < 1) return false; // no GPC holds a cluster
        if (((norm && Norm == FormMode.Auto) || (output && Out == FormMode.Auto)) && !RepeatedWorkPays(heads, pairs, form.ResidentBlocksPerSm, sms))
            return false;
        return Pays(form.ResidentBlocksPerSm, pairs, sms);
    }

    /// <summary>
    /// The prologue form's function for x's channels (loaded, its shared memory allowed), that memory, x's windows and the blocks an SM
    /// holds; with the norm prologue, with the output projection.
    /// </summary>
    private (CudaKernel Function, int Shared, int Windows, int ResidentBlocksPerSm) Form(FusedKernel attention, CudaTensor x, CudaDevice device, bool norm, bool output)
    {
        int d = attention.Constant("HEAD_DIM"), channels = checked((int)x.Shape[-1]);
        int windows = checked((int)(x.ElementCount / ((long)attention.Constant("TOKENS") * channels)));
        int buffers = Buffers(device, channels, d, output), shared = SharedBytes(channels, d, buffers, output);
        var function = Function(attention, channels, buffers, norm, output);
        function.AllowSharedMemory(shared);
        return (function, shared, windows, function.ResidentBlocksPerSm(Threads, shared));
    }

    private readonly KernelJit _jit;
    private readonly List<(string Source, int Channels, int Buffers, bool Norm, bool Output, CudaModule Module, CudaKernel Function)> _loaded = [];
    private readonly Lock _lock = new();

    public QkvWindowAttention(KernelJit jit) => _jit = jit;

    /// <summary>
    /// Why the prologue form cannot compute <paramref name="projection"/> then <paramref name="attention"/> on these operands (an English
    /// reason), or null when it can.
    /// </summary>
    public static string? WhyNot(GemmKernel projection, FusedKernel attention, CudaDevice device, DType io, CudaTensor x, CudaTensor w,
        IReadOnlyList<CudaTensor> projectionInputs, CudaTensor bias, CudaTensor? mask, int heads)
    {
        if (device.ComputeCapabilityMajor < 8) return $"compute capability {device.ComputeCapabilityMajor}.{device.ComputeCapabilityMinor}: the kernel needs mma.sync and cp.async (8.0)";
        if (attention.Pattern != WindowAttentionLauncher.Pattern) return $"{attention.Name} is not a window attention";
        if (attention.Epilogue is not null) return $"{attention.Name} stores through a generated epilogue";
        if (projection.Int8 || projection.Fp8 || projection.Conv is not null) return "a quantized or convolution GEMM";
        if (!IsBiasAlone(projection) || projectionInputs.Count != 1) return $"{projection.Name}'s epilogue is not a bias alone";
        var form = projection.Cublas!;
        if (form.ToIo && io != DType.Float16) return $"{projection.Name} stores the run's io type, {io.ShortName()}";
        int d = attention.Constant("HEAD_DIM"), tokens = attention.Constant("TOKENS"), channels = projection.K;
        if (!HasTensorCoreBody(attention)) return $"head dim {d} and {tokens} tokens: the attention's fp32 body";
        if (attention.Constant("HEADS") != heads || projection.N != 3 * heads * d || projection.KW != channels)
            return $"{projection.Name} computes {projection.N} features from {channels}, not q, k and v of {heads} heads of {d}";
        if (channels % 16 != 0) return $"{channels} channels: the prologue takes them in steps of 16";
        var b = projectionInputs[form.Bias];
        if (x.DType != DType.Float16 || w.DType != DType.Float16 || b.DType != DType.Float16 || bias.DType != DType.Float16
            || mask is { DType: not DType.Float16 })
            return "operands not all fp16";
        long windows = x.Rank == 0 ? 0 : x.ElementCount / ((long)tokens * channels);
        if (x.Rank == 0 || x.Shape[-1] != channels || windows * tokens * channels != x.ElementCount || w.Shape != new Shape(projection.N, channels)
            || b.ElementCount != projection.N || bias.Shape != new Shape(heads, tokens, tokens))
            return $"operand shapes x {x.Shape}, w {w.Shape}, bias {b.Shape}, attention bias {bias.Shape}";
        bool masked = attention.Constant("HAS_MASK") != 0;
        if (masked != mask is not null) return $"{attention.Name} was specialized {(masked ? "with" : "without")} a mask";
        if (mask is not null && (mask.Shape != new Shape(attention.Constant("WINDOWS"), tokens, tokens) || windows % attention.Constant("WINDOWS") != 0))
            return $"mask {mask.Shape} for {windows} windows";
        if (windows > int.MaxValue) return $"{windows} windows";
        if (Buffers(device, channels, d, output: false) == 0)
            return $"{SharedBytes(channels, d, 1, output: false) / 1024} KB of shared memory with one x buffer, more than a block's {device.MaxSharedMemoryPerBlock / 1024} KB";
        return null;
    }

    /// <summary>
    /// Why the QKV form cannot also compute the output projection <paramref name="output"/> (weight <paramref name="weight"/>, epilogue
    /// inputs <paramref name="inputs"/>) after <paramref name="attention"/> on x of <paramref name="channels"/> channels (an English
    /// reason), or null when it can; the QKV form's own conditions are <see cref="WhyNot"/>'s.
    /// </summary>
    public static string? WhyNotOut(GemmKernel output, FusedKernel attention, CudaDevice device, DType io, int channels, CudaTensor weight, IReadOnlyList<CudaTensor> inputs)
    {
        if (device.ComputeCapabilityMajor < 9) return $"compute capability {device.ComputeCapabilityMajor}.{device.ComputeCapabilityMinor}: the output projection runs on thread-block clusters (9.0)";
        int heads = attention.Constant("HEADS"), d = attention.Constant("HEAD_DIM");
        if (heads > MaxClusterHeads) return $"{heads} heads: a cluster of one block a head holds at most {MaxClusterHeads}";
        if (output.Int8 || output.Fp8 || output.Conv is not null) return $"{output.Name} is a quantized or convolution GEMM";
        if (!IsBiasAlone(output) || inputs.Count != 1) return $"{output.Name}'s epilogue is not a bias alone";
        if (output.Cublas!.ToIo && io != DType.Float16) return $"{output.Name} stores the run's io type, {io.ShortName()}";
        if (channels != heads * d || output.N != channels || output.K != channels || output.KW != channels)
            return $"{output.Name} computes {output.N} features from {output.K}, not {channels} from the {heads} heads of {d}";
        var b = inputs[output.Cublas.Bias];
        if (weight.DType != DType.Float16 || b.DType != DType.Float16) return $"{output.Name}'s weight or bias is not fp16";
        if (weight.Shape != new Shape(channels, channels) || b.ElementCount != channels) return $"{output.Name}'s weight {weight.Shape} and bias {b.Shape} for {channels} channels";
        if (weight.Pointer % 16 != 0) return $"{output.Name}'s weight is not 16-byte aligned (copied in 16-byte chunks)";
        if (Buffers(device, channels, d, output: true) == 0)
            return $"{SharedBytes(channels, d, 1, output: true) / 1024} KB of shared memory with one x buffer and the projection's rows, more than a block's {device.MaxSharedMemoryPerBlock / 1024} KB";
        return null;
    }

    /// <summary>
    /// Why the norm prologue cannot gather and normalize the windows of <paramref name="image"/> for <paramref name="attention"/> (an
    /// English reason), or null when it can; the QKV form's own conditions are <see cref="WhyNot"/>'s.
    /// </summary>
    public static string? WhyNotNorm(WindowNorm geometry, FusedKernel attention, CudaTensor image, CudaTensor gamma, CudaTensor beta, int channels)
    {
        int tokens = attention.Constant("TOKENS");
        if (geometry.WhyNot(image.Shape, tokens) is { } why) return why;
        if (image.Shape[-1] != channels) return $"x {image.Shape} has not the projection's {channels} channels";
        if (gamma.DType != DType.Float16 || beta.DType != DType.Float16) return "the norm's weight or bias is not fp16";
        if (gamma.ElementCount != channels || beta.ElementCount != channels) return $"the norm's weight {gamma.Shape} and bias {beta.Shape} for {channels} channels";
        if (gamma.Pointer % 16 != 0 || beta.Pointer % 16 != 0) return "the norm's weight or bias is not 16-byte aligned (read in 8-channel chunks)";
        if (attention.Constant("HAS_MASK") != 0 && attention.Constant("WINDOWS") != geometry.WindowsPerImage)
            return $"{attention.Name}'s mask has {attention.Constant("WINDOWS")} windows, the image {geometry.WindowsPerImage}";
        return null;
    }

    /// <summary>
    /// output [windows, TOKENS, heads·d] = the attention of (x · wᵀ + b) per window; with <paramref name="norm"/>, x is the image and
    /// each window is gathered from it and normalized first. The caller checked the operands (<see cref="WhyNot"/>, <see cref="WhyNotNorm"/>).
    /// </summary>
    /// With <paramref name="project"/>, output is the output projection of that attention instead (<see cref="WhyNotOut"/>).
    public void Run(CudaTensor x, CudaTensor w, CudaTensor b, CudaTensor bias, CudaTensor? mask, float scale, CudaTensor output, FusedKernel attention,
        CudaStream stream, NormOperands? norm = null, OutOperands? project = null)
    {
        var (function, shared, windows, resident) = Form(attention, x, stream.Device, norm is not null, project is not null);
        if (windows == 0) return;
        var args = new KernelArguments().Pointer(x).Pointer(w).Pointer(b).Pointer(bias);
        if (mask is null) args.Pointer(0);
        else args.Pointer(mask);
        args.Pointer(output).Int(windows).Float(scale);
        if (norm is { Geometry: var g })
            args.Pointer(norm.Gamma).Pointer(norm.Beta).Float(g.Eps).Int(g.Height).Int(g.Width).Int(g.BackRows).Int(g.BackColumns);
        if (project is not null) args.Pointer(project.Weight).Pointer(project.Bias);
        int heads = attention.Constant("HEADS");
        int per = WindowAttentionLauncher.WindowsFromEnvironment ?? WindowAttentionLauncher.AutomaticWindowsPerBlock((long)windows * heads,
            (long)resident * stream.Device.MultiprocessorCount);
        int blocks = WindowAttentionLauncher.Blocks(attention, windows, per);
        // With the output projection, a cluster is one block a head of the same windows (block b computes head b mod HEADS).
        if (project is null) function.Launch(stream, blocks, Threads, args, shared);
        else function.Launch(stream, blocks, Threads, args, shared, new Dim3((uint)heads));
    }

    /// <summary>cuBLASLt's BIAS form: a bias and nothing else after the product, what the prologue adds.</summary>
    private static bool IsBiasAlone(GemmKernel projection) =>
        projection.Cublas is { Activation: Activation.None, Bias: >= 0, Residual: < 0, Scale: < 0, OutScale: < 0 };

    /// <summary>Whether the attention runs the template's tensor-core body, the one the prologue is written into (window_attention.cut's WA_MMA).</summary>
    private static bool HasTensorCoreBody(FusedKernel attention) =>
        attention.Constant("HEAD_DIM") % 16 == 0 && attention.Constant("HEAD_DIM") <= 64 && attention.Constant("TOKENS") <= PaddedRows;

    /// <summary>
    /// The dynamic shared memory of the prologue: the head's 3·d rows of w, <paramref name="buffers"/> windows of x and, with the output
    /// projection, the block's d rows of its weight, rows of C + 8 halves.
    /// </summary>
    public static int SharedBytes(int channels, int headDim, int buffers, bool output) => (3 * headDim + buffers * PaddedRows + (output ? headDim : 0)) * (channels + 8) * 2;

    /// <summary>
    /// The template's static shared memory beside it: one buffer of q, k, v, 64 rows of d + 8 halves each.
    /// </summary>
    private static int StaticBytes(int headDim) => 3 * PaddedRows * (headDim + 8) * 2;

    /// <summary>
    /// <c>FUSION_QKV_X_BUFFERS=auto|1|2</c>: x buffers a block (auto: two where they fit). One buffer gives up the next window's copy
    /// during this one's attention for more blocks an SM (stage 1: 4 instead of 3); for measuring which pays.
    /// </summary>
    public const string BuffersVariable = "FUSION_QKV_X_BUFFERS";

    private static readonly Lazy<int> s_buffersFromEnvironment = new(() => ParseBuffers(Environment.GetEnvironmentVariable(BuffersVariable)));

    /// <summary>0 (automatic) for null, blank or "auto" (any case), else 1 or 2; anything else is an error naming the variable.</summary>
    public static int ParseBuffers(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => 0,
        "1" => 1,
        "2" => 2,
        _ => throw new FusionException($"{BuffersVariable}={value} is not one of auto, 1, 2"),
    };

    /// <summary>Two x buffers where they fit in a block's shared memory (the next window arrives during this one), else one, else 0; $FUSION_QKV_X_BUFFERS where set and it fits.</summary>
    private static int Buffers(CudaDevice device, int channels, int headDim, bool output) => Buffers(device.MaxSharedMemoryPerBlock, channels, headDim, output);

    private static int Buffers(int maxSharedMemory, int channels, int headDim, bool output)
    {
        int asked = s_buffersFromEnvironment.Value;
        if (asked > 0 && SharedBytes(channels, headDim, asked, output) + StaticBytes(headDim) <= maxSharedMemory) return asked;
        for (int buffers = 2; buffers >= 1; buffers--)
            if (SharedBytes(channels, headDim, buffers, output) + StaticBytes(headDim) <= maxSharedMemory) return buffers;
        return 0;
    }

    private CudaKernel Function(FusedKernel attention, int channels, int buffers, bool norm, bool output)
    {
        lock (_lock)
        {
            foreach (var e in _loaded)
                if (e.Channels == channels && e.Buffers == buffers && e.Norm == norm && e.Output == output
                    && (ReferenceEquals(e.Source, attention.CudaSource) || e.Source == attention.CudaSource))
                    return e.Function;
            var (name, options) = Variant(attention, channels, buffers, norm, output);
            var module = _jit.Load(name, attention.CudaSource, options);
            try
            {
                var function = module.GetKernel(attention.Name);
                _loaded.Add((attention.CudaSource, channels, buffers, norm, output, module, function));
                return function;
            }
            catch
            {
                module.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// The cache name and NVRTC options of the prologue form of <paramref name="attention"/> for C = <paramref name="channels"/>, with the
    /// norm prologue or not, with the output projection or not.
    /// </summary>
    private static (string Name, IReadOnlyList<string> Options) Variant(FusedKernel attention, int channels, int buffers, bool norm, bool output)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"{attention.Name}_{(norm ? "norm_" : "")}qkv_{(output ? "out_" : "")}c{channels}_x{buffers}");
        List<string> options = [string.Create(CultureInfo.InvariantCulture, $"-DFUSION_WA_PROJECT={channels}"), string.Create(CultureInfo.InvariantCulture, $"-DFUSION_WA_X_BUFFERS={buffers}")];
        if (norm) options.Add(string.Create(CultureInfo.InvariantCulture, $"-DFUSION_WA_NORM={WindowSide(attention.Constant("TOKENS"))}"));
        if (output) options.Add("-DFUSION_WA_OUT=1");
        return (name, options);
    }

    /// <summary>The side of a square window of <paramref name="tokens"/> tokens (the norm prologue's gather; a non-square count fails its static_assert).</summary>
    private static int WindowSide(int tokens) => (int)Math.Round(Math.Sqrt(tokens));

    /// <summary>
    /// The prologue forms a model's first pass may compile, for <see cref="CudaBackend.Precompile"/>: each window attention with the
    /// channels of every bias-only projection that makes exactly its q, k and v (3 · heads · d features), where the form fits this GPU,
    /// and, where FUSION_QKV_NORM is not off and the model has a LayerNorm + window-partition kernel of those channels, the same with the
    /// norm prologue, and where FUSION_QKV_OUT is not off and the GPU has clusters, each of those with the output projection (in auto
    /// only for attentions of at most <see cref="MaxRepeatingHeads"/> heads, the only ones auto may take). A guess from the kernels
    /// alone (which GEMM feeds which attention is the plan's, the batch decides the rest); a variant it misses is compiled at first use.
    /// </summary>
    public static IEnumerable<(string Name, string Source, IReadOnlyList<string> Options)> Variants(IReadOnlyCollection<IKernel> kernels, CudaDevice device) =>
        Variants(kernels, device.ComputeCapabilityMajor, device.MaxSharedMemoryPerBlock, Norm, Out);

    /// <summary>
    /// The same for a GPU of compute capability <paramref name="major"/>.x whose blocks may have <paramref name="maxSharedMemory"/> bytes,
    /// with the norm prologue's forms and the output projection's as <paramref name="norm"/> and <paramref name="output"/> say.
    /// </summary>
    public static IEnumerable<(string Name, string Source, IReadOnlyList<string> Options)> Variants(IReadOnlyCollection<IKernel> kernels, int major, int maxSharedMemory,
        FormMode norm, FormMode output)
    {
        if (major < 8) yield break;
        // The channels of the model's LayerNorm + window-partition kernels (their names say it; their last buffer's last axis is C).
        var normChannels = kernels.OfType<GeneratedKernel>().Where(g => g.Name.StartsWith("layer_norm_", StringComparison.Ordinal) && g.Name.Contains("window_partition", StringComparison.Ordinal))
            .Select(g => g.Ir.Buffers[^1].Shape[^1]).Where(c => c is { Dynamic: false }).Select(c => (int)c.Value).ToHashSet();
        var projections = kernels.OfType<GemmKernel>()
            .Where(g => !g.Int8 && !g.Fp8 && g.Conv is null && g.KW == g.K && g.K % 16 == 0 && IsBiasAlone(g))
            .ToList();
        foreach (var attention in kernels.OfType<FusedKernel>().Where(f => f.Pattern == WindowAttentionLauncher.Pattern && f.Epilogue is null))
        {
            int d = attention.Constant("HEAD_DIM"), heads = attention.Constant("HEADS"), features = 3 * heads * d;
            if (!HasTensorCoreBody(attention)) continue;
            bool normHere = Takes(norm, heads), outputHere = Takes(output, heads);
            foreach (int channels in projections.Where(g => g.N == features).Select(g => g.K).Distinct())
            {
                // The output projection where it is on, the GPU has clusters and a square bias-only projection of these channels exists.
                bool projects = outputHere && major >= 9 && heads <= MaxClusterHeads && channels == heads * d
                    && projections.Any(g => g.N == channels && g.K == channels);
                foreach (bool withOutput in projects ? new[] { false, true } : new[] { false })
                {
                    int buffers = Buffers(maxSharedMemory, channels, d, withOutput);
                    if (buffers == 0) continue;
                    var (name, options) = Variant(attention, channels, buffers, norm: false, withOutput);
                    yield return (name, attention.CudaSource, options);
                    if (!normHere || !normChannels.Contains(channels)) continue;
                    (name, options) = Variant(attention, channels, buffers, norm: true, withOutput);
                    yield return (name, attention.CudaSource, options);
                }
            }
        }
    }

    /// <summary>Whether a form switched so may run for an attention of <paramref name="heads"/> heads (auto: <see cref="RepeatedWorkPays"/>'s heads).</summary>
    private static bool Takes(FormMode mode, int heads) => mode == FormMode.On || (mode == FormMode.Auto && heads <= MaxRepeatingHeads);

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var e in _loaded) e.Module.Dispose();
            _loaded.Clear();
        }
    }
}
