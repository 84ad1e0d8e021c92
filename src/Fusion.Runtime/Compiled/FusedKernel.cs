namespace Fusion;

/// <summary>
/// One specialized kernel of a hand-written template (window attention): its name (which says what it does, e.g.
/// <c>window_attention_h3_d32_t49_nw64_masked</c>), the template pattern it instantiates, the complete CUDA C source (prelude
/// included by name) and the integer constants it was specialized with, which launchers use to size the grid. With an
/// <see cref="Epilogue"/> the source has that generated epilogue printed in and the kernel stores the epilogue's outputs instead
/// of its own result. The CPU backend ignores the source and runs the pattern's CPU twin (then the epilogue from its loop IR).
/// </summary>
public sealed record FusedKernel(string Name, string Pattern, string CudaSource, IReadOnlyDictionary<string, int> Constants) : IKernel
{
    /// <summary>
    /// The pointwise chain after the template as a kernel of the loop IR whose accumulator buffer is the template's result; its
    /// other inputs and its outputs are the fused call's epilogue inputs and results. Null for a template that stores its own result.
    /// </summary>
    public GeneratedKernel? Epilogue { get; init; }

    /// <summary>
    /// The generated class holding this template as an ILGPU kernel (one method per io variant of its epilogue), or null: a kernel
    /// specialized at run time, or a template or shape without an ILGPU version (the window attention's fp32 body, global attention).
    /// </summary>
    public Type? IlgpuKernels { get; init; }

    /// <summary>The ILGPU method for the run's io type <paramref name="io"/> (the epilogue's io buffers in that type), or null when there is none.</summary>
    public System.Reflection.MethodInfo? IlgpuMethod(DType io) => IlgpuKernels is null
        ? null
        : GeneratedKernel.FindIlgpuMethod(IlgpuKernels, $"kernel {Name}",
            Compiler.IlgpuEpiloguePrinter.MethodName(Name, Epilogue?.Ir, io == DType.Float16 ? Compiler.FloatType.F16 : Compiler.FloatType.F32));

    /// <summary>The run's io types that give the kernel distinct variants: f32 and f16 when its epilogue has io buffers, else f32 alone.</summary>
    public IReadOnlyList<DType> IoTypes => Epilogue?.IoTypes ?? [DType.Float32];

    /// <summary>A constant the kernel was specialized with; throws naming the kernel when it is missing.</summary>
    public int Constant(string key) => Constants.TryGetValue(key, out var value)
        ? value
        : throw new FusionException($"kernel {Name} ({Pattern}) has no constant {key}");

    /// <summary>Throws unless a call's <paramref name="argument"/> equals the constant <paramref name="key"/> the kernel was specialized with.</summary>
    internal void RequireConstant(string key, int value, string argument)
    {
        int constant = Constant(key);
        if (constant != value)
            throw new FusionException($"kernel {Name} was specialized with {key} = {constant}, but {argument} = {value}");
    }
}

/// <summary>An activation cuBLASLt applies in its own GEMM epilogue.</summary>
public enum Activation
{
    None = 0,
    Relu = 1,
    /// <summary>GELU in its erf form (the CPU computes it exactly so; cuBLASLt's GELU is the tanh form, within 5e-4).</summary>
    Gelu = 2,

    /// <summary>GELU in its tanh form, which cuBLASLt's GELU computes.</summary>
    GeluTanh = 3,
}
