using System.Globalization;
using Fusion.Cuda.Generated;

namespace Fusion.Cuda.Fused;

/// <summary>
/// Which version of a template kernel with an ILGPU version (<see cref="FusedKernel.IlgpuKernels"/>: the window and flash attentions)
/// a launch runs, and the loaded ILGPU versions. It follows the generated-kernel launcher's language: NVRTC under
/// FUSION_KERNELS=nvrtc, ILGPU under ilgpu, and under auto whichever version the first launch of a kernel at a size measured faster
/// (<see cref="GeneratedKernelLauncher.Decide"/>: the same choices file and warnings). Without a launcher only NVRTC runs.
/// </summary>
internal sealed class TemplateLanguage : IDisposable
{
    private readonly FusedKernelModules _modules;
    private readonly GeneratedKernelLauncher? _generated;
    private readonly IlgpuMethodModules? _ilgpu;
    private readonly string _pattern;

    /// <summary>Each kernel source's hash, computed once: auto builds its key at every launch, and a source is ~10 KB of SHA-256.</summary>
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<string, string> _sourceHashes = new();

    public TemplateLanguage(FusedKernelModules modules, GeneratedKernelLauncher? generated, string pattern)
    {
        _modules = modules;
        _generated = generated;
        _pattern = pattern;
        if (generated is not null) _ilgpu = new IlgpuMethodModules(modules.Jit, generated.Warn);
    }

    /// <summary>
    /// Whether this launch runs the ILGPU version: never where the kernel has none or the call does not <paramref name="fit"/> its
    /// 32-bit indices; under auto the decision for <paramref name="size"/> (a key part naming the launch's extent), measured once by
    /// <paramref name="launch"/> (false: NVRTC, true: ILGPU) into outputs from <paramref name="scratch"/>.
    /// </summary>
    public bool UseIlgpu(FusedKernel kernel, DType io, bool fit, string size, CudaStream stream, Func<IReadOnlyList<CudaTensor>> scratch,
        Action<bool, IReadOnlyList<CudaTensor>> launch) =>
        fit && Considers(kernel) && _generated!.Language switch
        {
            KernelLanguage.Ilgpu => true,
            KernelLanguage.Auto => _generated.Decide(ChoiceKey(kernel, io, size), stream, () => TryLoad(kernel, io), scratch, launch) == KernelLanguage.Ilgpu,
            _ => false,
        };

    /// <summary>
    /// Whether a launch of <paramref name="kernel"/> may run its ILGPU version at all (it has one, and the language is ilgpu or auto):
    /// launchers build <see cref="UseIlgpu"/>'s fit check and size key only then, so an NVRTC run pays nothing per launch for them.
    /// </summary>
    public bool Considers(FusedKernel kernel) =>
        kernel.IlgpuKernels is not null && _generated?.Language is KernelLanguage.Ilgpu or KernelLanguage.Auto;

    /// <summary>The kernel's function in the chosen version (the NVRTC one compiled for <paramref name="ioHalf"/> where its epilogue has io buffers).</summary>
    public CudaKernel Function(bool ilgpu, FusedKernel kernel, DType io, bool ioHalf)
    {
        if (!ilgpu) return _modules.Get(kernel, _pattern, ioHalf);
        // By name and io type (a kernel's name says everything it was specialized with): FusedKernel.IlgpuMethod is a reflection
        // lookup, too slow for every launch.
        lock (_ilgpuFunctions)
        {
            if (_ilgpuFunctions.TryGetValue((kernel.Name, io), out var known)) return known;
        }
        var function = _ilgpu!.Load(kernel.IlgpuMethod(io), kernel.Name);
        lock (_ilgpuFunctions) _ilgpuFunctions[(kernel.Name, io)] = function;
        return function;
    }

    private readonly Dictionary<(string Name, DType Io), CudaKernel> _ilgpuFunctions = [];

    /// <summary>
    /// Compiles (or loads from the cache) the ILGPU version of every io variant of <paramref name="kernels"/> of this pattern that has
    /// one, in parallel, under FUSION_KERNELS=ilgpu (a kernel that does not compile is the error) and auto (a warning; it runs its
    /// NVRTC version). Returns how many.
    /// </summary>
    public int PrecompileIlgpu(IEnumerable<FusedKernel> kernels)
    {
        var language = _generated?.Language ?? KernelLanguage.Nvrtc;
        if (language == KernelLanguage.Nvrtc) return 0;
        var variants = kernels.Where(k => k.Pattern == _pattern && k.IlgpuKernels is not null).DistinctBy(k => k.Name)
            .SelectMany(k => k.IoTypes.Select(io => (Kernel: k, Io: io))).ToList();
        ParallelCompile.ForEach(variants, v =>
        {
            if (language == KernelLanguage.Auto) TryLoad(v.Kernel, v.Io);
            else _ilgpu!.Load(v.Kernel.IlgpuMethod(v.Io), v.Kernel.Name);
        });
        return variants.Count;
    }

    /// <summary>Auto's load of the ILGPU version: false, with one warning, where the method is missing or does not compile.</summary>
    private bool TryLoad(FusedKernel kernel, DType io) =>
        _ilgpu!.TryLoad($"{kernel.Name}|{io.ShortName()}", () => kernel.IlgpuMethod(io), kernel.Name, "the kernel's NVRTC version");

    /// <summary>Auto's key: GPU, kernel (name and CUDA C), io type, the launch's size, the shipped headers the CUDA C includes, both compilers.</summary>
    private string ChoiceKey(FusedKernel kernel, DType io, string size) => string.Create(CultureInfo.InvariantCulture,
        $"{_modules.Jit.Device.Architecture} {_modules.Jit.Device.Name}|{kernel.Name}|io={(kernel.Epilogue?.UsesIoType == true ? io.ShortName() : "-")}"
        + $"|{size}|src={_sourceHashes.GetValue(kernel.CudaSource, source => KernelCache.Key(source))}|hdr={KernelJit.HeadersKey}|nvrtc={Nvrtc.Version}|ilgpu={IlgpuKernelJit.CompilerKey}");

    public void Dispose() => _ilgpu?.Dispose();
}
