using System.Reflection;

namespace Fusion.Cuda.Generated;

/// <summary>
/// The loaded ILGPU versions of templates (a GEMM's, a window attention's), one per generated method: compiled on first use through
/// <see cref="IlgpuKernelJit"/> (ILGPU to PTX, the driver to CUBIN, the kernel cache) outside the lock, so precompilation runs in
/// parallel, and kept until disposed. <see cref="TryLoad"/> is <see cref="KernelLanguage.Auto"/>'s: a method ILGPU or the driver
/// cannot compile is remembered and reported once, and the caller runs its NVRTC version.
/// </summary>
public sealed class IlgpuMethodModules(KernelJit jit, Action<string> warn) : IDisposable
{
    private readonly IlgpuKernelJit _ilgpu = new(jit);
    private readonly Dictionary<MethodInfo, (CudaModule Module, CudaKernel Kernel)> _loaded = [];
    private readonly HashSet<string> _failed = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>
    /// The function of <paramref name="method"/> (the ILGPU version of kernel <paramref name="kernelName"/>; null: the kernel has none,
    /// an error), compiled with <paramref name="registerBudget"/> (<see cref="Fusion.Ilgpu.PtxRegisterBudget"/>; one per method); throws
    /// what compiling it threw.
    /// </summary>
    public CudaKernel Load(MethodInfo? method, string kernelName, int? registerBudget = null)
    {
        if (method is null) throw new FusionException($"kernel {kernelName} has no ILGPU version");
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_loaded.TryGetValue(method, out var known)) return known.Kernel;
        }
        var (module, entry) = _ilgpu.Load(method, kernelName, registerBudget);
        try
        {
            var function = module.GetKernel(entry);
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_loaded.TryGetValue(method, out var raced))
                {
                    module.Dispose(); // a racing load of the same method won
                    return raced.Kernel;
                }
                _loaded[method] = (module, function);
                return function;
            }
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads the method <paramref name="method"/> finds for <see cref="KernelLanguage.Auto"/>: false where there is none (a generated
    /// class without it) or it does not compile, with one warning per <paramref name="variant"/> (the kernel and its io type) that
    /// ends "FUSION_KERNELS=auto runs <paramref name="fallback"/>".
    /// </summary>
    public bool TryLoad(string variant, Func<MethodInfo?> method, string kernelName, string fallback, int? registerBudget = null)
    {
        lock (_lock)
        {
            if (_failed.Contains(variant)) return false;
        }
        try
        {
            Load(method(), kernelName, registerBudget);
            return true;
        }
        catch (FusionException e)
        {
            bool first;
            lock (_lock) first = _failed.Add(variant);
            if (first) warn($"{e.Message}; FUSION_KERNELS=auto runs {fallback}");
            return false;
        }
    }

    /// <summary>Methods loaded so far.</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _loaded.Count;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var entry in _loaded.Values) entry.Module.Dispose();
            _loaded.Clear();
        }
    }
}
