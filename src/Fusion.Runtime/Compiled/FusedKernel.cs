namespace Fusion;

/// <summary>
/// One generated, specialized kernel of a fused operator group: its name (which says what it does,
/// e.g. <c>ln_shift_partition_c96_w7_s3</c>), the template pattern it instantiates, the complete CUDA C
/// source (prelude included by name) and the integer constants it was specialized with, which launchers
/// use to size the grid. The CPU backend ignores the source and runs the pattern's CPU twin.
/// </summary>
public sealed record FusedKernel(string Name, string Pattern, string CudaSource, IReadOnlyDictionary<string, int> Constants) : IKernel
{
    /// <summary>A constant the kernel was specialized with; throws naming the kernel when it is missing.</summary>
    public int Constant(string key) => Constants.TryGetValue(key, out var value)
        ? value
        : throw new FusionException($"kernel {Name} ({Pattern}) has no constant {key}");
}

/// <summary>An activation cuBLASLt applies in its own GEMM epilogue.</summary>
public enum Activation
{
    None = 0,
    Relu = 1,
    Gelu = 2,
}
