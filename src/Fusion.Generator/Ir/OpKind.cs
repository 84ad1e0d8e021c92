namespace Fusion.Generator.Ir
{
    /// <summary>The operators of the graph IR: one per Fusion.F operator, plus the graph's inputs and parameters.</summary>
    internal enum OpKind
    {
        Input,
        Param,
        Linear,
        MatMul,
        Add,
        Mul,
        Gelu,
        Relu,
        LayerNorm,
        Softmax,
        Reshape,
        Permute,
        Select,
        Roll,
        WindowPartition,
        WindowReverse,
        PatchMerging,
        Patchify,
        Mean,
        RelativePositionBias,
        ShiftedWindowMask,

        // Fused operators, produced by Passes.FusionPass; each carries a Node.Kernel.
        FusedLinear,
        BiasResidual,
        LayerNormWindowPartition,
        WindowReverseResidual,
        WindowAttention,

        // Load-time re-layouts the fusion pass inserts (parameter-only, so hoisted into the constants).
        QkvRelayout,

        // Inserted by Passes.PrecisionPass where a reader needs another float type; Ints[0] is the target FloatType.
        Cast,
    }
}
