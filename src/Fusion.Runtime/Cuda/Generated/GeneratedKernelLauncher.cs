using System.Globalization;
using Fusion.Compiler;

namespace Fusion.Cuda.Generated;

/// <summary>
/// Compiles (through the <see cref="KernelJit"/> and its disk cache) and launches kernels generated from the loop IR, in the
/// grid their printer chose (<see cref="GeneratedKernel.Launch"/>). A kernel with buffers of the run's input/output type is
/// compiled once per type (FUSION_IO_HALF 0 or 1). Loaded functions are kept per kernel and variant.
/// </summary>
public sealed class GeneratedKernelLauncher : IDisposable
{
    private readonly KernelJit _jit;
    private readonly Dictionary<(string Name, bool IoHalf), (string Source, CudaModule Module, CudaKernel Kernel)> _loaded = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    public GeneratedKernelLauncher(KernelJit jit) => _jit = jit;

    /// <summary>Kernels (and variants) loaded so far.</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _loaded.Count;
        }
    }

    /// <summary>The (cache name, source, options) of every variant of <paramref name="kernel"/>, for parallel precompilation.</summary>
    public static IEnumerable<(string Name, string Source, IReadOnlyList<string> Options)> Variants(GeneratedKernel kernel) =>
        kernel.UsesIoType ? [Variant(kernel, ioHalf: false), Variant(kernel, ioHalf: true)] : [Variant(kernel, ioHalf: false)];

    /// <summary>
    /// Launches <paramref name="kernel"/> on <paramref name="buffers"/> (its input buffers then its outputs, in IR order) for a
    /// batch of <paramref name="batch"/>. The caller has checked the operands.
    /// </summary>
    public void Launch(GeneratedKernel kernel, int batch, DType io, IReadOnlyList<CudaTensor> buffers, CudaStream stream)
    {
        long blocks = kernel.Launch.Blocks(batch);
        if (blocks == 0) return;
        if (blocks > int.MaxValue)
            throw new FusionException($"kernel {kernel.Name}: batch {batch} needs {blocks.ToString(CultureInfo.InvariantCulture)} blocks, more than one launch takes");
        var args = new KernelArguments();
        foreach (var b in buffers)
        {
            if (b.Pointer % 16 != 0) throw new FusionException($"kernel {kernel.Name}: buffer at 0x{b.Pointer:x} is not 16-byte aligned (its vector loads need it)");
            args.Pointer(b);
        }
        args.Int(batch);
        Load(kernel, kernel.UsesIoType && io == DType.Float16).Launch(stream, (int)blocks, kernel.Launch.Threads, args);
    }

    private CudaKernel Load(GeneratedKernel kernel, bool ioHalf)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_loaded.TryGetValue((kernel.Name, ioHalf), out var entry))
            {
                if (ReferenceEquals(entry.Source, kernel.CudaSource) || entry.Source == kernel.CudaSource) return entry.Kernel;
                throw new FusionException($"two different sources were given the kernel name {kernel.Name}; a kernel name must say everything it was specialized with");
            }
            var (name, source, options) = Variant(kernel, ioHalf);
            var module = _jit.Load(name, source, options);
            try
            {
                var function = module.GetKernel(kernel.Name);
                _loaded[(kernel.Name, ioHalf)] = (kernel.CudaSource, module, function);
                return function;
            }
            catch
            {
                module.Dispose();
                throw;
            }
        }
    }

    private static (string Name, string Source, IReadOnlyList<string> Options) Variant(GeneratedKernel kernel, bool ioHalf) => kernel.UsesIoType
        ? (kernel.Name + (ioHalf ? "_io16" : "_io32"), kernel.CudaSource, [$"-DFUSION_IO_HALF={(ioHalf ? 1 : 0)}"])
        : (kernel.Name, kernel.CudaSource, []);

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
