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
/// with its epilogue, or cuBLASLt) and the window-attention template through its launcher. All work is queued on the device's
/// default stream; <see cref="Synchronize"/> waits for it. Disposing frees every parameter copy, kernel module
/// and cuBLASLt handle the backend owns (and the device when <see cref="Open"/> opened it).
/// </summary>
public sealed partial class CudaBackend : IBackend
{
    private const int BlockSize = 256;
    private const int RowsPerBlock = BlockSize / 32;
    private const int MaxGrid = 1 << 20;
    private const string Source = "backend_ops.cu";
    private readonly OperandRules<CudaTensor> _rules;
    private readonly bool _ownsDevice;
    private readonly CublasLt _blas;
    private readonly FusedGemm _gemm;
    private readonly FusedKernelModules _fusedModules;
    private readonly GeneratedKernelLauncher _generated;
    private readonly WindowAttentionLauncher _windowAttention;
    private readonly Dictionary<string, CudaKernel> _kernels = new(StringComparer.Ordinal);
    private readonly Dictionary<(Parameter Parameter, DType DType), (int Version, CudaTensor Copy)> _parameters = [];
    private readonly Lock _lock = new();

    private CudaModule? _module;

    private bool _disposed;

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
        Jit = new KernelJit(device, cache ?? new KernelCache());
        _blas = new CublasLt(device);
        _generated = new GeneratedKernelLauncher(Jit);
        _gemm = new FusedGemm(device, Jit, gemmPolicy, cublas: _blas, epilogues: _generated);
        _fusedModules = new FusedKernelModules(Jit);
        _windowAttention = new WindowAttentionLauncher(_fusedModules);
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

    public string Name { get; }

    public DeviceKind Device => DeviceKind.Cuda;

    /// <summary>The device every tensor of this backend lives on.</summary>
    public CudaDevice CudaDevice { get; }

    /// <summary>The JIT that compiles this backend's kernels and the fused kernels it is given.</summary>
    public KernelJit Jit { get; }

    /// <summary>The GEMM launcher (tests read which path it took and whether it padded the weight).</summary>
    internal FusedGemm Gemms => _gemm;

    /// <summary>The launcher of generated kernels (tests read how many it loaded).</summary>
    internal GeneratedKernelLauncher Generated => _generated;

    /// <summary>
    /// Compiles a model's kernels into the kernel cache in parallel (each GEMM in the variants its policy certainly runs, each
    /// generated kernel once per input/output type it may take), so the first pass only loads them instead of compiling them one
    /// after another. Optional: the first pass compiles whatever is missing.
    /// </summary>
    public void Precompile(IEnumerable<IKernel> kernels)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        var sources = kernels.SelectMany(k => k switch
        {
            GemmKernel g => _gemm.Sources(g),
            GeneratedKernel g => GeneratedKernelLauncher.Variants(g),
            FusedKernel f => FusedKernelModules.Variants(f).Select(v => (v.Name, f.CudaSource, v.Options)),
            _ => [(k.Name, k.CudaSource, (IReadOnlyList<string>)[])],
        }).DistinctBy(s => s.Name).ToList();
        Jit.Precompile(sources);
    }

    /// <summary>Waits for everything queued on the device's default stream; surfaces asynchronous kernel errors.</summary>
    public void Synchronize() => CudaDevice.DefaultStream.Synchronize();

    public Tensor Param(Parameter parameter, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        FloatDType(dtype, "Param dtype");
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            bool known = _parameters.TryGetValue((parameter, dtype), out var entry);
            if (known && entry.Version == parameter.Version) return entry.Copy;
            using var host = dtype == DType.Float32 ? null : ElementwiseOps.Cast(parameter.Value, dtype);
            var source = host ?? parameter.Value;
            if (known)
            {
                entry.Copy.CopyFromHost(source);
                _gemm.RefreshPaddedWeight(entry.Copy, source); // the generated GEMM's zero-padded copy, if it made one
            }
            var copy = known ? entry.Copy : CudaTensor.FromHost(CudaDevice, source);
            _parameters[(parameter, dtype)] = (parameter.Version, copy);
            return copy;
        }
    }

    public Tensor FromHost(CpuTensor host) => CudaTensor.FromHost(CudaDevice, Host(host, "FromHost host"));

    public CpuTensor ToHost(Tensor tensor) => _rules.Resident(tensor, "ToHost tensor").ToHost();

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var (_, copy) in _parameters.Values) copy.Dispose();
            _parameters.Clear();
            _kernels.Clear();
        }
        _gemm.Dispose();
        _generated.Dispose();
        _fusedModules.Dispose();
        _module?.Dispose();
        _blas.Dispose();
        if (_ownsDevice) CudaDevice.Dispose();
    }

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
        Filled(y, () => Kernel(kernel).Launch(CudaDevice.DefaultStream, (int)blocks, BlockSize, arguments(new KernelArguments())));
    }

    private CudaKernel Kernel(string name)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_kernels.TryGetValue(name, out var kernel)) return kernel;
            _module ??= Jit.LoadShipped(Source);
            kernel = _module.GetKernel(name);
            _kernels[name] = kernel;
            return kernel;
        }
    }
}
