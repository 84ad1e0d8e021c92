using Fusion.Cuda;
using Fusion.Cuda.Fused;
using Fusion.Cuda.Gemm;
using Fusion.Cuda.Generated;
using static Fusion.OperandChecks;

namespace Fusion;

/// <summary>
/// Every operator of <see cref="IBackend"/> on one CUDA device, for f32 and f16 <see cref="CudaTensor"/>s, with the
/// CPU backend's operand checks and messages (<see cref="OperandRules{T}"/>). Products run through cuBLASLt
/// (float32 accumulation), the rest through backend_ops.cu (float32 math, one rounding on store); a compiled model's
/// generated kernels through the <see cref="GeneratedKernelLauncher"/>, its GEMMs through <see cref="FusedGemm"/> (the template
/// with its epilogue, or cuBLASLt) and the window-attention template through its launcher. All work is queued on the
/// backend's <see cref="Stream"/> (the device's default stream; <see cref="OnNewStream"/> makes a sibling backend on a stream
/// of its own); <see cref="Synchronize"/> waits for it. Disposing frees every parameter copy, kernel module and cuBLASLt
/// handle the backend owns (and the device when <see cref="Open"/> opened it).
/// </summary>
/// <remarks>
/// Threads: a backend and its stream siblings share parameter copies, kernels and cuBLASLt, and each may be used from its own
/// thread at the same time; give each concurrent session (or each thread) a sibling of its own, so that their passes overlap on
/// the GPU and their memory is reused per stream (<see cref="CachingAllocator"/>). Tensors a backend returns belong to its
/// stream: read them on that backend (or after synchronizing it). Tensors made by <see cref="FromHost"/> and parameter copies
/// are complete when made and may be read by every sibling. Not supported while passes run: reloading weights, disposing the
/// backend a sibling came from.
/// </remarks>
public sealed partial class CudaBackend : IBackend, IStreamBackend
{
    private const int BlockSize = 256;
    private const int RowsPerBlock = BlockSize / 32;
    private const int MaxGrid = 1 << 20;
    private readonly OperandRules<CudaTensor> _rules;
    private readonly CudaBackendState _state;
    private readonly CudaBackend? _family; // the backend this one was made from (null: it owns the shared state)
    private readonly bool _ownsDevice;
    private int _disposed;

    /// <summary>A backend on <paramref name="device"/>, which the caller keeps and disposes after the backend.</summary>
    public CudaBackend(CudaDevice device, KernelCache? cache = null) : this(device, cache, ownsDevice: false)
    {
    }

    /// <summary>A backend whose fused linear layers always take one GEMM path (tests pin the generated kernel with it).</summary>
    internal CudaBackend(CudaDevice device, KernelCache? cache, GemmPolicy gemmPolicy) : this(device, cache, ownsDevice: false, gemmPolicy)
    {
    }

    private CudaBackend(CudaDevice device, KernelCache? cache, bool ownsDevice, GemmPolicy? gemmPolicy = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        CudaDevice = device;
        _ownsDevice = ownsDevice;
        Name = $"cuda:{device.Ordinal}";
        _rules = new OperandRules<CudaTensor>(Name, t => t.Owner == device);
        _state = new CudaBackendState(device, cache, gemmPolicy);
        Stream = device.DefaultStream;
    }

    private CudaBackend(CudaBackend family, CudaStream stream)
    {
        CudaDevice = family.CudaDevice;
        Name = family.Name;
        _rules = family._rules;
        _state = family._state;
        _family = family;
        Stream = stream;
    }

    /// <summary>Opens device <paramref name="ordinal"/> for a backend that owns it (disposing the backend closes it).</summary>
    public static CudaBackend Open(int ordinal = 0, KernelCache? cache = null)
    {
        var device = CudaDevice.Open(ordinal);
        try
        {
            return new CudaBackend(device, cache, ownsDevice: true);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A backend on a new stream of its own that shares this backend's device, parameter copies, kernels, GEMM choices and
    /// cuBLASLt handle: one per concurrent session or thread, whose passes then overlap with the others' on the GPU. Dispose it
    /// (which waits for its stream) before the backend it came from.
    /// </summary>
    public CudaBackend OnNewStream()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0 || _state.IsDisposed, this);
        return new CudaBackend(_family ?? this, new CudaStream(CudaDevice));
    }

    public string Name { get; }

    public DeviceKind Device => DeviceKind.Cuda;

    /// <summary>The device every tensor of this backend lives on.</summary>
    public CudaDevice CudaDevice { get; }

    /// <summary>The stream this backend queues its work on.</summary>
    public CudaStream Stream { get; }

    /// <summary>The JIT that compiles this backend's kernels and the fused kernels it is given.</summary>
    public KernelJit Jit => _state.Jit;

    /// <summary>The GEMM launcher (tests read which path it took and whether it padded the weight).</summary>
    internal FusedGemm Gemms => _state.Gemm;

    /// <summary>The launcher of generated kernels (tests read how many it loaded).</summary>
    internal GeneratedKernelLauncher Generated => _state.Generated;

    /// <summary>The window-attention launcher (tests read whether it ran the ILGPU version).</summary>
    internal WindowAttentionLauncher WindowAttentions => _state.WindowAttention;

    /// <summary>The flash-attention launcher (tests ask which version its last launch ran).</summary>
    internal AttentionLauncher Attentions => _state.Attention;

    /// <summary>Which version of the generated kernels runs (FUSION_KERNELS when the backend was made).</summary>
    public KernelLanguage GeneratedKernelLanguage => _state.Generated.Language;

    IBackend IStreamBackend.Family => _family ?? this;

    /// <summary>
    /// Compiles a model's kernels into the kernel cache in parallel (each GEMM in the variants its policy certainly runs, each
    /// generated kernel once per input/output type it may take, each window attention's QKV-prologue forms, <see cref="QkvWindowAttention.Variants"/>), so the first pass only loads them instead of compiling them one
    /// after another; with <see cref="KernelLanguage.Ilgpu"/> or <see cref="KernelLanguage.Auto"/> the ILGPU versions of the generated
    /// kernels, GEMMs and window attentions are compiled and loaded in parallel too (under ilgpu alone, the NVRTC versions of the kernels that have one are
    /// left to be compiled if a launch needs them). <paramref name="plan"/>, when given, leaves out the kernels only the other
    /// precision's plan runs (a compiled model carries both): half the work of a cold start. Optional: the first pass compiles
    /// whatever is missing.
    /// </summary>
    public PrecompileSummary Precompile(IEnumerable<IKernel> kernels, Precision? plan = null)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        kernels = kernels.Where(k => plan is not { } p || MayRunIn(k, p)).ToList();
        bool ilgpuOnly = _state.Generated.Language == KernelLanguage.Ilgpu;
        var sources = kernels.SelectMany(k => k switch
        {
            GemmKernel g => _state.Gemm.Sources(g),
            GeneratedKernel g when ilgpuOnly && g.IlgpuKernels is not null => [],
            GeneratedKernel g => GeneratedKernelLauncher.Variants(g),
            FusedKernel f when ilgpuOnly && f.IlgpuKernels is not null => [],
            FusedKernel f => FusedKernelModules.Variants(f).Select(v => (v.Name, f.CudaSource, v.Options)),
            _ => [(k.Name, k.CudaSource, (IReadOnlyList<string>)[])],
        }).Concat(QkvWindowAttention.Enabled && !ilgpuOnly ? QkvWindowAttention.Variants(kernels.ToList(), CudaDevice) : []).DistinctBy(s => s.Name).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Jit.Precompile(sources);
        var nvrtc = clock.Elapsed;
        clock.Restart();
        int ilgpu = _state.Generated.PrecompileIlgpu(GeneratedKernel.AllIn(kernels)) + _state.Gemm.PrecompileIlgpu(kernels.OfType<GemmKernel>())
            + _state.WindowAttention.PrecompileIlgpu(kernels.OfType<FusedKernel>()) + _state.Attention.PrecompileIlgpu(kernels.OfType<FusedKernel>());
        return new PrecompileSummary(sources.Count, nvrtc, ilgpu, clock.Elapsed);
    }

    /// <summary>
    /// Whether <paramref name="kernel"/> may run in the <paramref name="plan"/> plan: the float plan has no fp16 buffer, and a kernel
    /// of the half plan has at least one (a kernel with float32 buffers alone belongs to the float plan; GEMMs by their epilogue;
    /// templates run in the half plan only, but are kept, as they are few; a kernel with int8 (FP8) buffers, or an int8 (FP8) GEMM,
    /// only in the Int8 (Fp8) plan, which also runs the half plan's). A kernel left out by mistake is compiled at first use.
    /// </summary>
    private static bool MayRunIn(IKernel kernel, Precision plan)
    {
        var generated = kernel switch
        {
            GeneratedKernel g => g,
            GemmKernel g => g.Epilogue,
            _ => null,
        };
        if (generated is null) return true;
        var types = generated.Ir.Buffers.Select(b => b.Type).ToList();
        bool half = types.Contains(Compiler.FloatType.F16), single = types.Contains(Compiler.FloatType.F32);
        bool int8 = types.Contains(Compiler.FloatType.I8) || kernel is GemmKernel { Int8: true };
        bool fp8 = types.Contains(Compiler.FloatType.F8) || kernel is GemmKernel { Fp8: true };
        return plan switch
        {
            Precision.Int8 => !fp8 && (int8 || half || !single),
            Precision.Fp8 => !int8 && (fp8 || half || !single),
            Precision.Half => !int8 && !fp8 && (half || !single),
            _ => !int8 && !fp8 && !half,
        };
    }

    /// <summary>Waits for everything queued on this backend's stream; surfaces asynchronous kernel errors.</summary>
    public void Synchronize() => Stream.Synchronize();

    public Tensor Param(Parameter parameter, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        FloatDType(dtype, "Param dtype");
        ThrowIfDisposed();
        return _state.Param(parameter, dtype);
    }

    public Tensor ParamCopy(Parameter parameter, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        FloatDType(dtype, "ParamCopy dtype");
        ThrowIfDisposed();
        using var cast = dtype == parameter.Value.DType ? null : ElementwiseOps.Cast(parameter.Value, dtype);
        return CudaTensor.FromHost(Stream, cast ?? parameter.Value);
    }

    public Tensor FromHost(CpuTensor host) => CudaTensor.FromHost(Stream, Host(host, "FromHost host"));

    public CpuTensor ToHost(Tensor tensor) => _rules.Resident(tensor, "ToHost tensor").ToHost();

    /// <summary>
    /// A stream sibling waits for its stream, frees its cuBLASLt workspace and destroys the stream; the backend that made the
    /// shared state frees it (and the device when it opened it).
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_family is not null)
        {
            _state.Blas.ReleaseWorkspace(Stream);
            Stream.Dispose();
            return;
        }
        _state.Dispose();
        if (_ownsDevice) CudaDevice.Dispose();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private static string Suffix(DType dtype) => dtype == DType.Float16 ? "f16" : "f32";

    /// <summary>Returns <paramref name="y"/> once <paramref name="fill"/> has queued the work that writes it; disposes it if that throws.</summary>
    private static CudaTensor Filled(CudaTensor y, Action fill)
    {
        try
        {
            fill();
            return y;
        }
        catch
        {
            y.Dispose();
            throw;
        }
    }

    /// <summary>Launches a grid-stride kernel over <paramref name="work"/> items that writes <paramref name="y"/> (disposed if the launch fails).</summary>
    private void Map(string kernel, long work, CudaTensor y, Func<KernelArguments, KernelArguments> arguments)
    {
        if (work == 0) return;
        long blocks = Math.Min((work + BlockSize - 1) / BlockSize, MaxGrid);
        Filled(y, () => Kernel(kernel).Launch(Stream, (int)blocks, BlockSize, arguments(new KernelArguments())));
    }

    private CudaKernel Kernel(string name)
    {
        ThrowIfDisposed();
        return _state.Kernel(name);
    }
}
