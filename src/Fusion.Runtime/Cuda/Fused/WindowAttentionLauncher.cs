using System.Globalization;
using Fusion.Compiler;
using Fusion.Cuda.Generated;

namespace Fusion.Cuda.Fused;

/// <summary>
/// Launches a <c>window_attention</c> kernel: softmax(q·kᵀ·scale + bias + mask)·v merged over heads, read
/// straight from the QKV projection qkv [B·nW, N, 3·heads·d] laid out (heads, 3, d) per token (or [B·nW, N, heads, 3, d];
/// see <see cref="IBackend.QkvRelayout"/>), bias [heads, N, N],
/// mask [nW, N, N] or null → [B·nW, N, heads·d] (operands in the order of <see cref="IBackend.WindowAttention"/>). A kernel a model
/// generated with an ILGPU version (<see cref="FusedKernel.IlgpuKernels"/>) runs that under FUSION_KERNELS=ilgpu, and under auto
/// whichever version its first launch at that size measured faster (the generated kernels' launcher's choices, language and warnings).
/// </summary>
public sealed class WindowAttentionLauncher : IDisposable
{
    public const string Pattern = "window_attention";

    /// <summary>Threads a block (WA_WARPS·32 of the template).</summary>
    private const int Threads = 128;

    /// <summary>
    /// <c>FUSION_WA_WINDOWS=auto|N</c>: how many windows each block of the NVRTC kernel computes for its head (auto, the default:
    /// <see cref="AutomaticWindowsPerBlock"/>); the ILGPU kernel computes one (window, head) a block.
    /// </summary>
    public const string WindowsVariable = "FUSION_WA_WINDOWS";

    /// <summary>$FUSION_WA_WINDOWS, read once (<see cref="ParseWindows"/>).</summary>
    private static readonly Lazy<int?> s_windowsFromEnvironment = new(() => ParseWindows(Environment.GetEnvironmentVariable(WindowsVariable)));

    /// <summary>Windows a block for this launcher's NVRTC kernels; null: $FUSION_WA_WINDOWS, else automatic.</summary>
    public int? WindowsPerBlock
    {
        get => _windowsPerBlock;
        init => _windowsPerBlock = value is null or > 0 ? value : throw new ArgumentOutOfRangeException(nameof(WindowsPerBlock), value, "a block computes at least one window");
    }

    private readonly int? _windowsPerBlock;

    private readonly TemplateLanguage _language;

    /// <param name="generated">Whose kernel language, auto choices and warnings the ILGPU versions follow; null runs the NVRTC kernels only.</param>
    public WindowAttentionLauncher(FusedKernelModules modules, GeneratedKernelLauncher? generated = null) =>
        _language = new TemplateLanguage(modules, generated, Pattern);

    /// <summary>Whether the last launch ran an ILGPU kernel.</summary>
    public bool LastRanIlgpu { get; private set; }

    public void Run(CudaTensor qkv, CudaTensor bias, CudaTensor? mask, int heads, float scale, CudaTensor output, FusedKernel kernel, CudaStream? stream = null)
    {
        if (kernel.Epilogue is not null)
            throw new FusionException($"kernel {kernel.Name} stores through its epilogue; run it with the epilogue's inputs and outputs");
        int total = Check(qkv, bias, mask, heads, kernel);
        FusedChecks.Half(output, "output", new Shape(total, kernel.Constant("TOKENS"), heads * kernel.Constant("HEAD_DIM")), kernel);
        if (total == 0) return;
        var call = new Call(kernel, DType.Float32, qkv, bias, mask, scale, total, 0, []);
        Launch(call, [output], stream ?? qkv.Stream);
    }

    /// <summary>
    /// The attention finished by the kernel's <see cref="FusedKernel.Epilogue"/> in the same launch: <paramref name="epilogueInputs"/>
    /// and <paramref name="outputs"/> are the epilogue's buffers other than the accumulator, in order, checked by the caller against
    /// its loop IR for <paramref name="batch"/>.
    /// </summary>
    public void Run(CudaTensor qkv, CudaTensor bias, CudaTensor? mask, int heads, float scale, FusedKernel kernel, int batch, DType io,
        IReadOnlyList<CudaTensor> epilogueInputs, IReadOnlyList<CudaTensor> outputs, CudaStream? stream = null)
    {
        var epilogue = kernel.Epilogue ?? throw new FusionException($"kernel {kernel.Name} has no epilogue");
        int total = Check(qkv, bias, mask, heads, kernel);
        // The epilogue reads the attention output as its accumulator: as many windows as that buffer has at this batch.
        long windows = epilogue.Ir.Buffers.First(b => b.Role == BufferRole.Accumulator).Shape[0].At(batch);
        if (total != windows)
            throw new TensorMismatchException("qkv", $"{windows} windows (the epilogue's at batch {batch}) for kernel {kernel.Name}", qkv.Shape.ToString());
        if (total == 0 || outputs.Count == 0) return;
        Launch(new Call(kernel, io, qkv, bias, mask, scale, total, batch, epilogueInputs), outputs, stream ?? qkv.Stream);
    }

    /// <summary>One call's operands other than its outputs (the attention's, or its epilogue's).</summary>
    private sealed record Call(FusedKernel Kernel, DType Io, CudaTensor Qkv, CudaTensor Bias, CudaTensor? Mask, float Scale, int Total, int Batch,
        IReadOnlyList<CudaTensor> EpilogueInputs);

    /// <summary>The call in the version the kernel language picks (auto: measured once per kernel, io type and window count).</summary>
    private void Launch(Call call, IReadOnlyList<CudaTensor> outputs, CudaStream stream)
    {
        // The ILGPU kernel indexes in 32 bits: past 2³⁰ qkv elements the NVRTC kernel runs.
        bool ilgpu = _language.Considers(call.Kernel) && _language.UseIlgpu(call.Kernel, call.Io,
            call.Qkv.ElementCount < GeneratedKernelLauncher.Index64Elements, string.Create(CultureInfo.InvariantCulture, $"windows={call.Total}"), stream,
            () => outputs.Select(o => CudaTensor.Empty(stream, o.DType, o.Shape)).ToList(), (il, scratch) => LaunchAs(il, call, scratch, stream));
        LaunchAs(ilgpu, call, outputs, stream);
        LastRanIlgpu = ilgpu;
    }

    /// <summary>
    /// The NVRTC kernel takes (qkv, bias, mask or 0, out, windows, scale[, batch, epilogue buffers]) as pointers, out the epilogue's
    /// first output when an epilogue stores (unused, but a valid pointer); the ILGPU one the same as {pointer, length} views, without
    /// the mask when it has none and without out when an epilogue stores.
    /// </summary>
    private void LaunchAs(bool ilgpu, Call call, IReadOnlyList<CudaTensor> outputs, CudaStream stream)
    {
        var kernel = call.Kernel;
        var args = new KernelArguments();
        KernelArguments Buffer(CudaTensor t) => ilgpu ? args.View(t.Pointer, t.ElementCount) : args.Pointer(t);
        Buffer(call.Qkv);
        Buffer(call.Bias);
        if (call.Mask is not null) Buffer(call.Mask);
        else if (!ilgpu) args.Pointer(0);
        if (kernel.Epilogue is null || !ilgpu) Buffer(outputs[0]);
        args.Int(call.Total).Float(call.Scale);
        if (kernel.Epilogue is not null)
        {
            args.Int(call.Batch);
            foreach (var t in call.EpilogueInputs.Concat(outputs)) Buffer(t);
        }
        var function = _language.Function(ilgpu, kernel, call.Io, kernel.Epilogue?.UsesIoType == true && call.Io == DType.Float16);
        int heads = kernel.Constant("HEADS");
        if (ilgpu)
        {
            function.Launch(stream, FusedChecks.Blocks((long)call.Total * heads, 1, kernel), Threads, args);
            return;
        }
        int per = WindowsPerBlock ?? WindowsFromEnvironment
            ?? AutomaticWindowsPerBlock((long)call.Total * heads, (long)function.ResidentBlocksPerSm(Threads, 0) * stream.Device.MultiprocessorCount);
        function.Launch(stream, Blocks(kernel, call.Total, per), Threads, args);
    }

    /// <summary>$FUSION_WA_WINDOWS (null: automatic), read once; the QKV-prologue form (<see cref="QkvWindowAttention"/>) follows it too.</summary>
    internal static int? WindowsFromEnvironment => s_windowsFromEnvironment.Value;

    /// <summary>
    /// The NVRTC kernel's grid for <paramref name="total"/> windows at <paramref name="windowsPerBlock"/>: the template's blocks each
    /// compute one head at one window position (one mask) for a range of images (window_attention.cut, "Blocks"), so any multiple of
    /// heads · positions blocks, up to one per (window, head).
    /// </summary>
    internal static int Blocks(FusedKernel kernel, int total, int windowsPerBlock)
    {
        int positions = kernel.Constant("HAS_MASK") != 0 ? kernel.Constant("WINDOWS") : 1, images = total / positions;
        int chunks = (images + windowsPerBlock - 1) / windowsPerBlock;
        return FusedChecks.Blocks((long)chunks * positions * kernel.Constant("HEADS"), 1, kernel);
    }

    /// <summary>
    /// Windows a block computes when nothing says otherwise: the fewest that put the whole grid in one wave of
    /// <paramref name="resident"/> blocks when that takes at most 8 windows a block, else 4 (several waves, each block's bias and
    /// mask read once for 4 windows). Measured on an H100 (2026-12-06, Swin-T at batch 64, each window attention inside the graph,
    /// the same windows a block for all of them): stage 1 (12 288 (window, head) pairs; 5 resident blocks of 96 registers an SM,
    /// 660 on 132 SMs: many waves) 86 / 71 / 70 / 74 µs at 1 / 2 / 4 / 8 windows a block; stage 3 (3072 pairs; 8 a block is one wave)
    /// 27 / 23 / 22 / 20 µs a call. A last wave that is only partly full is what larger counts lose where there are many waves.
    /// </summary>
    public static int AutomaticWindowsPerBlock(long pairs, long resident)
    {
        long oneWave = (pairs + Math.Max(1, resident) - 1) / Math.Max(1, resident);
        return oneWave <= 8 ? (int)Math.Max(1, oneWave) : 4;
    }

    /// <summary>null for null, blank or "auto" (any case), else a positive integer; anything else is an error naming the variable.</summary>
    public static int? ParseWindows(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase)) return null;
        if (int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0) return n;
        throw new FusionException($"{WindowsVariable}={value}: expected auto or a positive number of windows a block");
    }

    /// <summary>
    /// Compiles (or loads from the cache) the ILGPU version of every io variant of <paramref name="kernels"/> that has one, in parallel,
    /// under FUSION_KERNELS=ilgpu and auto (<see cref="TemplateLanguage.PrecompileIlgpu"/>). Returns how many.
    /// </summary>
    public int PrecompileIlgpu(IEnumerable<FusedKernel> kernels) => _language.PrecompileIlgpu(kernels);

    public void Dispose() => _language.Dispose();

    /// <summary>Checks the operands against the kernel's constants; returns the windows in the batch (B·nW).</summary>
    private static int Check(CudaTensor qkv, CudaTensor bias, CudaTensor? mask, int heads, FusedKernel kernel)
    {
        FusedChecks.Pattern(kernel, Pattern);
        var (n, d, windows) = (kernel.Constant("TOKENS"), kernel.Constant("HEAD_DIM"), kernel.Constant("WINDOWS"));
        FusedChecks.Argument(kernel, "HEADS", heads, "heads");
        bool hasMask = kernel.Constant("HAS_MASK") != 0;
        if (hasMask != mask is not null)
            throw new FusionException($"kernel {kernel.Name} was specialized {(hasMask ? "with" : "without")} a mask, but the call passes {(mask is null ? "none" : "one")}");
        int total = qkv.Rank is 3 or 5 ? qkv.Shape[0] : -1;
        if (total < 0 || qkv.DType != DType.Float16)
            throw new TensorMismatchException("qkv", $"f16[B·nW, {n}, {3 * heads * d}] for kernel {kernel.Name}", $"{qkv.DType.ShortName()}{qkv.Shape}");
        FusedChecks.Half(qkv, "qkv", qkv.Rank == 3 ? new Shape(total, n, 3 * heads * d) : new Shape(total, n, heads, 3, d), kernel);
        FusedChecks.Half(bias, "bias", new Shape(heads, n, n), kernel);
        if (mask is not null)
        {
            FusedChecks.Half(mask, "mask", new Shape(windows, n, n), kernel);
            if (total % windows != 0)
                throw new TensorMismatchException("qkv", $"a multiple of {windows} windows (the mask's count) for kernel {kernel.Name}", qkv.Shape.ToString());
        }
        return total;
    }

    /// <summary>A new [B·nW, N, heads·d] tensor holding the attention output.</summary>
    public CudaTensor Run(CudaTensor qkv, CudaTensor bias, CudaTensor? mask, int heads, float scale, FusedKernel kernel, CudaStream? stream = null)
    {
        var (n, d) = (kernel.Constant("TOKENS"), kernel.Constant("HEAD_DIM"));
        return FusedChecks.Allocated(stream ?? qkv.Stream, new Shape(qkv.Rank == 0 ? 0 : qkv.Shape[0], n, heads * d), output => Run(qkv, bias, mask, heads, scale, output, kernel, stream));
    }
}
