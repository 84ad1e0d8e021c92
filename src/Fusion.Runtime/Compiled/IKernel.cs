namespace Fusion;

/// <summary>
/// A kernel of a compiled model, as the generated code declares it: one generated from the loop IR
/// (<see cref="GeneratedKernel"/>), the GEMM template with a generated epilogue (<see cref="GemmKernel"/>), or a specialized
/// template (<see cref="FusedKernel"/>). Tools list them and CUDA backends precompile them.
/// </summary>
public interface IKernel
{
    /// <summary>The kernel's name, which says what it does and its constants.</summary>
    string Name { get; }

    /// <summary>The complete CUDA C source (it includes the shipped headers by name).</summary>
    string CudaSource { get; }
}
