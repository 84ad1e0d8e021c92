using Fusion.Kernels;

namespace Fusion;

/// <summary>
/// The flash-attention template (pattern "attention") specialized for a head dim, causal masking and a bias: what a compiled
/// model's attention kernels are (the generator specializes the same template with the same constants and name) and what
/// <c>F.Attention</c> runs eagerly. Sequence lengths, batch, heads and layouts are arguments of the launch, not constants.
/// </summary>
public static class AttentionKernels
{
    public const string Pattern = "attention";


    public static FusedKernel For(int headDim, bool causal, bool bias)
    {
        if (headDim <= 0) throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "the head dim must be positive");
        var constants = Constants(headDim, causal, bias);
        var name = Name(headDim, causal, bias);
        return new FusedKernel(name, Pattern, KernelTemplates.Specialize(Pattern, name, constants), constants);
    }

    /// <summary>"attention_d64", "attention_d128_causal_bias": everything the kernel was specialized with.</summary>
    public static string Name(int headDim, bool causal, bool bias) => Compiler.AttentionOp.KernelName(headDim, causal, bias);

    public static IReadOnlyDictionary<string, int> Constants(int headDim, bool causal, bool bias) => Compiler.AttentionOp.KernelConstants(headDim, causal, bias);
}
