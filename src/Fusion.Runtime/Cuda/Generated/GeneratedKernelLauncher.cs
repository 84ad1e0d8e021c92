using System.Globalization;
using Fusion.Compiler;

namespace Fusion.Cuda.Generated;

/// <summary>
/// Compiles (through the <see cref="KernelJit"/> and its disk cache) and launches kernels generated from the loop IR, in the
/// grid their printer chose (<see cref="GeneratedKernel.Launch"/>). A kernel with buffers of the run's input/output type is
/// compiled once per type (FUSION_IO_HALF 0 or 1). Index math is 32-bit; a launch where a buffer or the loop domain reaches
/// <see cref="Index64Elements"/> elements takes a variant compiled with FUSION_INDEX64 (64-bit indices) instead. Loaded functions
/// are kept per kernel and variant. With <see cref="KernelLanguage.Ilgpu"/> a kernel that has an ILGPU version runs that instead
/// (compiled by <see cref="IlgpuKernelJit"/>, its buffers passed as ILGPU array views), on the same grid; with
/// <see cref="KernelLanguage.Auto"/> whichever of the two its first launch measured faster (<see cref="Choices"/>).
/// </summary>
public sealed class GeneratedKernelLauncher : IDisposable
{
    private readonly KernelJit _jit;
    private readonly IlgpuMethodModules _ilgpu;
    // Per name and variant, each distinct source loaded under it: names are unique within a model, not across the models one
    // backend may run (two models' kernels can share a name and differ), so a name holds a short list, almost always of one.
    private readonly Dictionary<(string Name, bool IoHalf, bool Index64), List<(string Source, CudaModule Module, CudaKernel Kernel)>> _loaded = [];

    /// <summary>
    /// Elements from which a launch needs 64-bit indices: 2³⁰ leaves 32-bit index sums (an offset plus a guard's overshoot, an
    /// item plus the block's stride) room below 2³¹.
    /// </summary>
    public const long Index64Elements = 1L << 30;
    private readonly Lock _lock = new();
    private readonly Lock _measuring = new();
    private readonly Action<string> _warn;

    /// <summary>Where this launcher reports its warnings (stderr by default); the GEMMs whose epilogues it runs report there too.</summary>
    internal Action<string> Warn => _warn;
    private StreamHold? _hold;
    private bool _disposed;

    /// <summary>Untimed then timed runs of each version when <see cref="KernelLanguage.Auto"/> decides.</summary>
    private const int WarmupRuns = 2, TimedRuns = 7;

    /// <param name="language">Which version of the kernels to run; $FUSION_KERNELS (<see cref="KernelLanguages"/>) when null.</param>
    /// <param name="warn">Where <see cref="KernelLanguage.Auto"/>'s fallbacks and the choice files' problems are reported (stderr by default).</param>
    public GeneratedKernelLauncher(KernelJit jit, KernelLanguage? language = null, Action<string>? warn = null)
    {
        _jit = jit;
        _warn = warn ?? (m => Console.Error.WriteLine($"fusion: warning: {m}"));
        _ilgpu = new IlgpuMethodModules(jit, _warn);
        Language = language ?? KernelLanguages.FromEnvironment();
        Choices = new KernelLanguageChoices(jit.Cache.Directory, _warn);
    }

    /// <summary><see cref="KernelLanguage.Auto"/>'s decisions, remembered in the kernel cache folder.</summary>
    public KernelLanguageChoices Choices { get; }

    /// <summary>How many (kernel, io type, batch) this launcher has timed for <see cref="KernelLanguage.Auto"/>.</summary>
    public int Measurements { get; private set; }

    /// <summary>Which version of a generated kernel runs where it has both.</summary>
    public KernelLanguage Language { get; set; }

    /// <summary>Whether the last launch ran an ILGPU kernel.</summary>
    public bool LastRanIlgpu { get; private set; }

    /// <summary>Kernels (and variants) loaded so far.</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _loaded.Values.Sum(e => e.Count) + _ilgpu.Count;
        }
    }

    /// <summary>The (cache name, source, options) of every variant of <paramref name="kernel"/>, for parallel precompilation.</summary>
    public static IEnumerable<(string Name, string Source, IReadOnlyList<string> Options)> Variants(GeneratedKernel kernel) =>
        kernel.IoTypes.Select(io => Variant(kernel, IoHalf(kernel, io), index64: false));

    /// <summary>Whether <paramref name="kernel"/> runs its fp16-io variant for the run's input/output type <paramref name="io"/>.</summary>
    private static bool IoHalf(GeneratedKernel kernel, DType io) => kernel.UsesIoType && io == DType.Float16;

    /// <summary>Whether <paramref name="kernel"/> at <paramref name="batch"/> needs 64-bit index math (a buffer or the domain of 2³⁰ elements or more).</summary>
    public static bool NeedsIndex64(GeneratedKernel kernel, int batch)
    {
        long domain = 1;
        foreach (var d in kernel.Ir.VariableExtents) domain = SaturatingMultiply(domain, d.At(batch));
        return domain >= Index64Elements || kernel.Ir.Buffers.Any(b => b.Shape.Aggregate(1L, (n, d) => SaturatingMultiply(n, d.At(batch))) >= Index64Elements);
    }

    private static long SaturatingMultiply(long a, long b) => a != 0 && b > long.MaxValue / a ? long.MaxValue : a * b;

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
        bool index64 = ForceIndex64 || NeedsIndex64(kernel, batch);
        // The ILGPU kernels index in 32 bits; launches that need 64 keep the NVRTC kernel.
        bool ilgpu = kernel.IlgpuKernels is not null && !index64 && Language switch
        {
            KernelLanguage.Ilgpu => true,
            KernelLanguage.Auto => Choose(kernel, batch, io, buffers, stream) == KernelLanguage.Ilgpu,
            _ => false,
        };
        LaunchAs(ilgpu, kernel, (int)blocks, batch, io, index64, buffers, stream);
        LastRanIlgpu = ilgpu;
    }

    /// <summary>One launch of the NVRTC or the ILGPU version.</summary>
    private void LaunchAs(bool ilgpu, GeneratedKernel kernel, int blocks, int batch, DType io, bool index64, IReadOnlyList<CudaTensor> buffers, CudaStream stream)
    {
        var args = new KernelArguments();
        foreach (var b in buffers)
        {
            if (b.Pointer % 16 != 0) throw new FusionException($"kernel {kernel.Name}: buffer at 0x{b.Pointer:x} is not 16-byte aligned (its vector loads need it)");
            if (ilgpu) args.View(b.Pointer, b.Shape.ElementCount);
            else args.Pointer(b);
        }
        args.Int(batch);
        var function = ilgpu ? LoadIlgpu(kernel, io) : Load(kernel, IoHalf(kernel, io), index64);
        AccumulatedOutputs.Clear(kernel, buffers, stream);
        function.Launch(stream, blocks, kernel.Launch.Threads, args);
    }

    /// <summary>
    /// <see cref="KernelLanguage.Auto"/>: the version of <paramref name="kernel"/> that runs at this batch and io type. Decided once
    /// (remembered in <see cref="Choices"/>) by timing both on this GPU, each writing scratch outputs so the inputs and the real
    /// outputs are untouched (a kernel may update a buffer it reads). A kernel ILGPU cannot compile runs its NVRTC version, with
    /// one warning; inside a graph capture nothing can be timed, so an undecided kernel runs its NVRTC version there, undecided.
    /// </summary>
    private KernelLanguage Choose(GeneratedKernel kernel, int batch, DType io, IReadOnlyList<CudaTensor> buffers, CudaStream stream)
    {
        var inputs = kernel.Ir.Buffers.Count(b => b.Role == BufferRole.Input);
        int blocks = (int)kernel.Launch.Blocks(batch);
        return Decide(ChoiceKey(kernel, batch, IoHalf(kernel, io)), stream, () => TryLoadIlgpu(kernel, io),
            () => buffers.Skip(inputs).Select(o => CudaTensor.Empty(stream, o.DType, o.Shape)).ToList(),
            (ilgpu, scratch) => LaunchAs(ilgpu, kernel, blocks, batch, io, index64: false, [.. buffers.Take(inputs), .. scratch], stream));
    }

    /// <summary>
    /// <see cref="KernelLanguage.Auto"/>'s decision under <paramref name="key"/> (shared by the templates with ILGPU versions): the one
    /// remembered in <see cref="Choices"/>, else measured now on this GPU by timing <paramref name="launch"/> of each version (false:
    /// NVRTC, true: ILGPU) into scratch outputs (<paramref name="scratch"/>, disposed after), one measurement at a time. NVRTC where
    /// the ILGPU version does not load (<paramref name="ilgpuLoads"/> warned) and, undecided, inside a graph capture, where nothing can be timed.
    /// </summary>
    internal KernelLanguage Decide(string key, CudaStream stream, Func<bool> ilgpuLoads, Func<IReadOnlyList<CudaTensor>> scratch,
        Action<bool, IReadOnlyList<CudaTensor>> launch)
    {
        if (Choices.TryGet(key, out var known)) return known.Language;
        if (stream.IsCapturing || !ilgpuLoads()) return KernelLanguage.Nvrtc;
        using var held = _measuring.EnterScope(); // kernels of other threads would distort the measurement
        if (Choices.TryGet(key, out known)) return known.Language;
        var outputs = scratch();
        try
        {
            _hold ??= new StreamHold(_jit);
            double Median(bool ilgpu) => 1000.0 * _hold.MedianMilliseconds(_jit.Device, stream, () => launch(ilgpu, outputs), WarmupRuns, TimedRuns);
            double nvrtc = Median(false), ilgpu = Median(true);
            var choice = new KernelLanguageChoice(ilgpu < nvrtc ? KernelLanguage.Ilgpu : KernelLanguage.Nvrtc, nvrtc, ilgpu);
            Measurements++;
            Choices.Store(key, choice);
            return choice.Language;
        }
        finally
        {
            foreach (var t in outputs) t.Dispose();
        }
    }

    /// <summary>The auto decision's key: GPU, kernel (name and loop IR), io type, batch, the shipped headers its CUDA C includes, and both compilers.</summary>
    public string ChoiceKey(GeneratedKernel kernel, int batch, bool ioHalf) => string.Create(CultureInfo.InvariantCulture,
        $"{_jit.Device.Architecture} {_jit.Device.Name}|{kernel.Name}|io={(ioHalf ? "f16" : "f32")}|batch={batch}|ir={kernel.SourceHash}"
        + $"|hdr={KernelJit.HeadersKey}|nvrtc={Nvrtc.Version}|ilgpu={IlgpuKernelJit.CompilerKey}");

    /// <summary>
    /// Loads the ILGPU version for <see cref="KernelLanguage.Auto"/>; false (with one warning per kernel) where ILGPU or the driver
    /// cannot compile it, which leaves the kernel on its NVRTC version.
    /// </summary>
    private bool TryLoadIlgpu(GeneratedKernel kernel, DType io) =>
        _ilgpu.TryLoad($"{kernel.Name}|{IoHalf(kernel, io)}", () => kernel.IlgpuMethod(io), kernel.Name, "the kernel's NVRTC version",
            kernel.IlgpuRegisterBudget(io));

    /// <summary>
    /// With <see cref="KernelLanguage.Ilgpu"/> or <see cref="KernelLanguage.Auto"/>, compiles (ILGPU to PTX, the driver's linker to
    /// CUBIN, through the cache) and loads every io variant of <paramref name="kernels"/> that has an ILGPU version, in parallel, so
    /// the first pass finds them loaded: one by one at first launch, Swin-T's 82 kernels took 11.8 s on the H200's host. Under auto a
    /// kernel that does not compile is a warning (it runs its NVRTC version); under ilgpu it is the error. Returns how many variants
    /// it compiled or loaded; does nothing with <see cref="KernelLanguage.Nvrtc"/>.
    /// </summary>
    public int PrecompileIlgpu(IEnumerable<GeneratedKernel> kernels)
    {
        if (Language == KernelLanguage.Nvrtc) return 0;
        var variants = kernels.Where(k => k.IlgpuKernels is not null).DistinctBy(k => k.Name)
            .SelectMany(k => k.IoTypes.Select(io => (Kernel: k, Io: io))).ToList();
        ParallelCompile.ForEach(variants, v =>
        {
            if (Language == KernelLanguage.Auto) TryLoadIlgpu(v.Kernel, v.Io);
            else LoadIlgpu(v.Kernel, v.Io);
        });
        return variants.Count;
    }

    private CudaKernel LoadIlgpu(GeneratedKernel kernel, DType io) => _ilgpu.Load(kernel.IlgpuMethod(io), kernel.Name, kernel.IlgpuRegisterBudget(io));

    /// <summary>A loaded entry's function when it was loaded from <paramref name="source"/>; another source under the same name is an error.</summary>
    /// <summary>The function loaded from <paramref name="source"/> among <paramref name="entries"/>, or null.</summary>
    private static CudaKernel? Loaded(List<(string Source, CudaModule Module, CudaKernel Kernel)> entries, string source)
    {
        foreach (var entry in entries)
            if (ReferenceEquals(entry.Source, source)) return entry.Kernel;
        foreach (var entry in entries)
            if (entry.Source == source) return entry.Kernel;
        return null;
    }

    /// <summary>Launches every kernel with 64-bit index math, whatever its size (tests of that variant).</summary>
    internal bool ForceIndex64 { get; set; }

    private CudaKernel Load(GeneratedKernel kernel, bool ioHalf, bool index64)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_loaded.TryGetValue((kernel.Name, ioHalf, index64), out var entries)) _loaded[(kernel.Name, ioHalf, index64)] = entries = [];
            if (Loaded(entries, kernel.CudaSource) is { } loaded) return loaded;
            var (name, source, options) = Variant(kernel, ioHalf, index64);
            var module = _jit.Load(name, source, options); // the disk cache keys by source too
            try
            {
                var function = module.GetKernel(kernel.Name);
                entries.Add((kernel.CudaSource, module, function));
                return function;
            }
            catch
            {
                module.Dispose();
                throw;
            }
        }
    }

    private static (string Name, string Source, IReadOnlyList<string> Options) Variant(GeneratedKernel kernel, bool ioHalf, bool index64)
    {
        var (suffix, io) = IoVariant.Of(kernel.UsesIoType, ioHalf);
        var options = new List<string>(io);
        var name = kernel.Name + suffix;
        if (index64)
        {
            name += "_i64";
            options.Add("-DFUSION_INDEX64");
        }
        return (name, kernel.CudaSource, options);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var entry in _loaded.Values.SelectMany(e => e)) entry.Module.Dispose();
            _ilgpu.Dispose();
            _hold?.Dispose();
            _loaded.Clear();
        }
    }
}
