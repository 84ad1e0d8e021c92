using System.Globalization;

namespace Fusion.Cuda.Fused;

/// <summary>
/// The loaded modules of generated fused kernels, one per kernel name and source (names are unique within a model, not across
/// the models one backend may run): the first launch of a
/// <see cref="FusedKernel"/> compiles its <see cref="FusedKernel.CudaSource"/> through <see cref="KernelJit"/>
/// (and so its disk cache); later launches reuse the loaded function. Shared by the fused launchers.
/// </summary>
public sealed class FusedKernelModules : IDisposable
{
    private readonly KernelJit _jit;
    private readonly Dictionary<string, List<Entry>> _loaded = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private bool _disposed;

    public FusedKernelModules(KernelJit jit)
    {
        _jit = jit;
    }

    /// <summary>The JIT (and kernel cache) the modules compile through.</summary>
    internal KernelJit Jit => _jit;

    /// <summary>Kernels loaded so far.</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _loaded.Values.Sum(e => e.Count);
        }
    }

    /// <summary>
    /// The loaded function of <paramref name="kernel"/>, which must instantiate <paramref name="pattern"/>; a kernel whose epilogue
    /// has buffers of the run's input/output type is compiled once per type (<paramref name="ioHalf"/>: FUSION_IO_HALF 1 or 0).
    /// </summary>
    public CudaKernel Get(FusedKernel kernel, string pattern, bool ioHalf = false)
    {
        FusedChecks.Pattern(kernel, pattern);
        var (name, options) = Variant(kernel, ioHalf);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_loaded.TryGetValue(name, out var entries)) _loaded[name] = entries = [];
            var entry = entries.Find(e => ReferenceEquals(e.Source, kernel.CudaSource)) ?? entries.Find(e => e.Source == kernel.CudaSource);
            if (entry is not null) return entry.Kernel;
            var module = _jit.Load(name, kernel.CudaSource, options); // the disk cache keys by source too
            try
            {
                var function = module.GetKernel(kernel.Name);
                entries.Add(new Entry(module, function, kernel.CudaSource));
                return function;
            }
            catch
            {
                module.Dispose();
                throw;
            }
        }
    }

    /// <summary>The (cache name, options) of each variant of <paramref name="kernel"/>, for precompilation.</summary>
    public static IEnumerable<(string Name, IReadOnlyList<string> Options)> Variants(FusedKernel kernel) =>
        kernel.IoTypes.Select(io => Variant(kernel, io == DType.Float16));

    private static (string Name, IReadOnlyList<string> Options) Variant(FusedKernel kernel, bool ioHalf)
    {
        var (suffix, options) = Generated.IoVariant.Of(kernel.Epilogue?.UsesIoType == true, ioHalf);
        return (kernel.Name + suffix, options);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var entry in _loaded.Values.SelectMany(e => e)) entry.Module.Dispose();
            _loaded.Clear();
        }
    }

    private sealed record Entry(CudaModule Module, CudaKernel Kernel, string Source);
}

/// <summary>Operand and constant checks shared by the fused launchers.</summary>
internal static class FusedChecks
{
    /// <summary>Throws unless <paramref name="kernel"/> instantiates <paramref name="pattern"/>.</summary>
    public static void Pattern(FusedKernel kernel, string pattern)
    {
        if (kernel.Pattern != pattern)
            throw new FusionException($"kernel {kernel.Name} instantiates pattern {kernel.Pattern}, but was given to the {pattern} launcher");
    }

    /// <summary>Throws naming <paramref name="what"/> unless <paramref name="tensor"/> is fp16 of <paramref name="shape"/>.</summary>
    public static void Half(CudaTensor tensor, string what, Shape shape, FusedKernel kernel)
    {
        if (tensor.Shape != shape || tensor.DType != DType.Float16)
            throw new TensorMismatchException(what, $"{DType.Float16.ShortName()}{shape} for kernel {kernel.Name}", $"{tensor.DType.ShortName()}{tensor.Shape}");
    }

    /// <summary>Throws naming <paramref name="what"/> unless <paramref name="tensor"/> is fp16 of rank <paramref name="rank"/>.</summary>
    public static void HalfOfRank(CudaTensor tensor, string what, int rank, string layout, FusedKernel kernel)
    {
        if (tensor.Rank != rank || tensor.DType != DType.Float16)
            throw new TensorMismatchException(what, $"{DType.Float16.ShortName()}{layout} for kernel {kernel.Name}", $"{tensor.DType.ShortName()}{tensor.Shape}");
    }

    /// <summary>Throws unless an argument of the call equals the constant the kernel was specialized with.</summary>
    public static void Argument(FusedKernel kernel, string key, int value, string argument) => kernel.RequireConstant(key, value, argument);

    /// <summary>
    /// Checks a Swin window kernel's call against its constants C, H, W, WINDOW and SHIFT and its image operand
    /// [B, H, W, C]; returns those sizes with the batch and the windows per image.
    /// </summary>
    public static (int C, int H, int W, int Batch, int Windows) WindowGeometry(FusedKernel kernel, string pattern, CudaTensor image, string what,
        int window, int shift)
    {
        Pattern(kernel, pattern);
        var (c, h, w) = (kernel.Constant("C"), kernel.Constant("H"), kernel.Constant("W"));
        Argument(kernel, "WINDOW", window, "window");
        Argument(kernel, "SHIFT", shift, "shift");
        int windows = WindowsPerImage(kernel, h, w, window);
        HalfOfRank(image, what, 4, $"[B, {h}, {w}, {c}]", kernel);
        int batch = image.Shape[0];
        Half(image, what, new Shape(batch, h, w, c), kernel);
        return (c, h, w, batch, windows);
    }

    /// <summary>Throws unless the window divides both spatial sizes, and returns windows per image.</summary>
    public static int WindowsPerImage(FusedKernel kernel, int height, int width, int window)
    {
        if (window <= 0 || height % window != 0 || width % window != 0)
            throw new FusionException($"kernel {kernel.Name}: window {window} does not tile {height}×{width}");
        return height / window * (width / window);
    }

    /// <summary>Blocks for <paramref name="items"/> work items at <paramref name="perBlock"/> a block; throws past the grid limit.</summary>
    public static int Blocks(long items, long perBlock, FusedKernel kernel)
    {
        long blocks = (items + perBlock - 1) / perBlock;
        if (blocks > int.MaxValue)
            throw new FusionException($"kernel {kernel.Name}: {items.ToString(CultureInfo.InvariantCulture)} items need more than {int.MaxValue} blocks");
        return (int)blocks;
    }

    /// <summary>A new fp16 tensor of <paramref name="shape"/> for <paramref name="stream"/> that <paramref name="launch"/> writes; disposed if the launch throws.</summary>
    public static CudaTensor Allocated(CudaStream stream, Shape shape, Action<CudaTensor> launch)
    {
        var output = CudaTensor.Empty(stream, DType.Float16, shape);
        try
        {
            launch(output);
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    public static int ToInt(long value, string what, FusedKernel kernel) => value <= int.MaxValue
        ? (int)value
        : throw new FusionException($"kernel {kernel.Name}: {what} = {value.ToString(CultureInfo.InvariantCulture)} exceeds the kernel's int argument");
}
