using System.Reflection;
using Fusion.Compiler;

namespace Fusion;

/// <summary>
/// A kernel generated from the loop IR: by the source generator for a fused group of a model (the generated file holds its IR
/// and CUDA C as text), or at run time for an operator called eagerly. The CPU backend runs the IR
/// (<see cref="LoopInterpreter"/>); a CUDA backend compiles the CUDA C (once per input/output type when the kernel has
/// buffers of that type) and launches it as <see cref="Launch"/> says.
/// </summary>
public sealed class GeneratedKernel : IKernel
{
    private readonly Lazy<LoopKernel> _ir;
    private readonly Lazy<string> _sourceHash;

    /// <param name="name">The kernel's name (the CUDA function's).</param>
    /// <param name="loopIr">The kernel in the loop IR's text form.</param>
    /// <param name="cudaSource">The CUDA C printed from it.</param>
    /// <param name="launch">How the CUDA C is launched: "threads,unitsPerBlock,unitsPerBatch,batched".</param>
    /// <param name="ilgpuKernels">
    /// The generated class holding the same kernel as ILGPU C# (methods named as <see cref="IlgpuKernelPrinter.MethodName"/> says), or
    /// null where there is none (kernels lowered at run time).
    /// </param>
    public GeneratedKernel(string name, string loopIr, string cudaSource, string launch, Type? ilgpuKernels = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(loopIr);
        ArgumentNullException.ThrowIfNull(cudaSource);
        ArgumentNullException.ThrowIfNull(launch);
        Name = name;
        LoopIr = loopIr;
        CudaSource = cudaSource;
        LaunchText = launch;
        _ir = new Lazy<LoopKernel>(() => Parse(name, loopIr));
        _sourceHash = new Lazy<string>(() => Cuda.KernelCache.Key(loopIr, cudaSource)[..16]);
        _accumulatedBuffers = new Lazy<int[]>(() => Ir.AccumulatedBuffers.ToArray());
        IlgpuKernels = ilgpuKernels;
        Launch = Decode(name, launch);
        _ilgpuMethods = new PerIoType<MethodInfo?>(FindIlgpuMethod);
        _registerBudgets = new PerIoType<int?>(io => Ilgpu.PtxRegisterBudget.For(Ir, io));
    }

    private readonly Lazy<int[]> _accumulatedBuffers;
    private readonly PerIoType<MethodInfo?> _ilgpuMethods;
    private readonly PerIoType<int?> _registerBudgets;

    internal GeneratedKernel(LoopKernel ir, PrintedKernel printed)
        : this(ir.Name, LoopIrText.Print(ir), printed.Source, printed.Launch.Encode())
    {
    }

    public string Name { get; }

    /// <summary>The kernel in the loop IR (text).</summary>
    public string LoopIr { get; }

    public string CudaSource { get; }

    /// <summary>The launch shape as written: "threads,unitsPerBlock,unitsPerBatch,batched".</summary>
    public string LaunchText { get; }

    /// <summary>The generated class with this kernel's ILGPU methods, or null.</summary>
    public Type? IlgpuKernels { get; }

    /// <summary>
    /// The ILGPU method for the run's input/output type <paramref name="io"/> (ignored when the kernel has no io buffers), or null
    /// when the kernel has no ILGPU version.
    /// </summary>
    public MethodInfo? IlgpuMethod(DType io) => _ilgpuMethods.Get(io);

    private MethodInfo? FindIlgpuMethod(DType io) => IlgpuKernels is null ? null
        : FindIlgpuMethod(IlgpuKernels, $"generated kernel {Name}", IlgpuKernelPrinter.MethodName(Ir, io == DType.Float16 ? FloatType.F16 : FloatType.F32));

    /// <summary>The ptxas register allowance of the ILGPU method for <paramref name="io"/> (<see cref="Ilgpu.PtxRegisterBudget.For"/>), decided once.</summary>
    internal int? IlgpuRegisterBudget(DType io) => _registerBudgets.Get(io);

    /// <summary>Method <paramref name="name"/> of a generated ILGPU class; a missing one means the generated file is stale.</summary>
    internal static MethodInfo FindIlgpuMethod(Type kernels, string kernel, string name) =>
        kernels.GetMethod(name, BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            ?? throw new FusionException($"{kernel}: {kernels.FullName} has no ILGPU method {name}; rebuild the project that generated it");

    /// <summary>Whether some buffer has the run's input/output type (the CUDA C is compiled once per type then).</summary>
    public bool UsesIoType => Ir.UsesIoType;

    /// <summary>The run's input/output types that give the kernel distinct variants: f32 and f16 when it has io buffers, else f32 alone.</summary>
    public IReadOnlyList<DType> IoTypes => UsesIoType ? [DType.Float32, DType.Float16] : [DType.Float32];

    /// <summary>The generated kernels among <paramref name="kernels"/>, each once: themselves and the GEMMs' epilogues.</summary>
    public static IEnumerable<GeneratedKernel> AllIn(IEnumerable<IKernel> kernels) =>
        kernels.Select(k => k switch { GeneratedKernel g => g, GemmKernel m => m.Epilogue, _ => null }).OfType<GeneratedKernel>().DistinctBy(k => k.Name);

    internal LoopKernel Ir => _ir.Value;

    /// <summary>The buffers its accumulating stores add into (<see cref="LoopKernel.AccumulatedBuffers"/>), found once: every launch clears them.</summary>
    internal IReadOnlyList<int> AccumulatedBuffers => _accumulatedBuffers.Value;

    /// <summary>A short hash of the loop IR and the CUDA C, computed once: part of the decision keys built at every launch.</summary>
    internal string SourceHash => _sourceHash.Value;

    internal LaunchShape Launch { get; }

    /// <summary>A kernel for <paramref name="ir"/> printed here (the eager path).</summary>
    internal static GeneratedKernel From(LoopKernel ir) => new(ir, CudaKernelPrinter.Print(ir));

    public override string ToString() => Name;

    private static LoopKernel Parse(string name, string text)
    {
        try
        {
            var ir = LoopIrText.Parse(text);
            if (ir.Name != name) throw new FormatException($"the IR names kernel '{ir.Name}'");
            return ir;
        }
        catch (FormatException e)
        {
            throw new FusionException($"generated kernel {name}: its loop IR is malformed ({e.Message}); rebuild the project that generated it");
        }
    }

    private static LaunchShape Decode(string name, string text)
    {
        try
        {
            return LaunchShape.Decode(text);
        }
        catch (FormatException e)
        {
            throw new FusionException($"generated kernel {name}: {e.Message}");
        }
    }
}
