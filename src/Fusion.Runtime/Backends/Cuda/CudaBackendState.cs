using Fusion.Cuda;
using Fusion.Cuda.Fused;
using Fusion.Cuda.Gemm;
using Fusion.Cuda.Generated;

namespace Fusion;

/// <summary>
/// What a <see cref="CudaBackend"/> and the stream backends made from it (<see cref="CudaBackend.OnNewStream"/>) share: the
/// JIT, the loaded kernels, cuBLASLt, the GEMM launcher and the parameter copies. Thread-safe; the backend that made it
/// disposes it.
/// </summary>
internal sealed class CudaBackendState : IDisposable
{
    private const string Source = "backend_ops.cu";
    private readonly Dictionary<string, CudaKernel> _kernels = new(StringComparer.Ordinal);
    private readonly Dictionary<(Parameter Parameter, DType DType), (int Version, CudaTensor Copy)> _parameters = [];
    private readonly Lock _lock = new();
    private CudaModule? _module;
    private bool _disposed;

    public CudaBackendState(CudaDevice device, KernelCache? cache, GemmPolicy? gemmPolicy)
    {
        Device = device;
        Jit = new KernelJit(device, cache ?? new KernelCache());
        Blas = new CublasLt(device);
        Generated = new GeneratedKernelLauncher(Jit);
        Gemm = new FusedGemm(device, Jit, gemmPolicy, cublas: Blas, epilogues: Generated);
        FusedModules = new FusedKernelModules(Jit);
        WindowAttention = new WindowAttentionLauncher(FusedModules, Generated);
        Attention = new AttentionLauncher(FusedModules, Generated);
        Mlp = new FusedMlp(Jit);
        ClusterMlp = new ClusterMlp(Jit);
        QkvAttention = new QkvWindowAttention(Jit);
    }

    public CudaDevice Device { get; }

    public KernelJit Jit { get; }

    public CublasLt Blas { get; }

    public GeneratedKernelLauncher Generated { get; }

    public FusedGemm Gemm { get; }

    public FusedKernelModules FusedModules { get; }

    public WindowAttentionLauncher WindowAttention { get; }

    public AttentionLauncher Attention { get; }

    public FusedMlp Mlp { get; }

    /// <summary>The MLP over few rows, its hidden units split over a cluster (<see cref="Fused.ClusterMlp"/>).</summary>
    public ClusterMlp ClusterMlp { get; }

    /// <summary>The window attention with its QKV projection as a prologue (<see cref="QkvWindowAttention"/>).</summary>
    public QkvWindowAttention QkvAttention { get; }

    public bool IsDisposed
    {
        get
        {
            lock (_lock) return _disposed;
        }
    }

    /// <summary>
    /// The device copy of <paramref name="parameter"/> in <paramref name="dtype"/>, made (or refreshed in place, keeping its
    /// address) when the parameter's version moved. The upload completes before this returns, so every stream may read it.
    /// </summary>
    public CudaTensor Param(Parameter parameter, DType dtype)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, typeof(CudaBackend));
            bool known = _parameters.TryGetValue((parameter, dtype), out var entry);
            if (known && entry.Version == parameter.Version) return entry.Copy;
            using var host = dtype == DType.Float32 ? null : ElementwiseOps.Cast(parameter.Value, dtype);
            var source = host ?? parameter.Value;
            if (known)
            {
                entry.Copy.CopyFromHost(source);
                Gemm.RefreshPaddedWeight(entry.Copy, source); // the generated GEMM's zero-padded copy, if it made one
            }
            var copy = known ? entry.Copy : CudaTensor.FromHost(Device, source);
            _parameters[(parameter, dtype)] = (parameter.Version, copy);
            return copy;
        }
    }

    /// <summary>A kernel of the shipped backend_ops.cu, loaded on first use.</summary>
    public CudaKernel Kernel(string name)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, typeof(CudaBackend));
            if (_kernels.TryGetValue(name, out var kernel)) return kernel;
            _module ??= Jit.LoadShipped(Source);
            kernel = _module.GetKernel(name);
            _kernels[name] = kernel;
            return kernel;
        }
    }

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
        Gemm.Dispose();
        WindowAttention.Dispose();
        QkvAttention.Dispose();
        Attention.Dispose();
        Generated.Dispose();
        FusedModules.Dispose();
        _module?.Dispose();
        Blas.Dispose();
    }
}
