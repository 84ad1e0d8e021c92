namespace Fusion;

/// <summary>
/// Marks a partial <see cref="Module"/> class whose <c>Forward</c> method the source generator
/// compiles into a fused execution plan. The class needs a parameterless constructor; its
/// sub-modules are instantiated with constant arguments, so every dimension but the batch is static.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class FusedModelAttribute : Attribute
{
    /// <summary>
    /// What stays float32 when the model runs in <see cref="Precision.Half"/>: module or layer paths (<c>"head"</c>,
    /// <c>"layers.3"</c>: every operator in that scope or reading its parameters; <c>*</c> stands for any one segment) and operators (<c>"F.Softmax"</c>:
    /// every call of it, and the fused kernels that absorbed one). Each entry must match an operator (FUS014).
    /// </summary>
    public string[] KeepFloat32 { get; set; } = [];

    /// <summary>
    /// The Linear layers the <see cref="Precision.Int8"/> plan leaves in fp16 (its accuracy policy): layer paths, a <c>*</c>
    /// standing for any one segment (<c>"layers.*.blocks.*.mlp.fc2"</c>), or operators as in <see cref="KeepFloat32"/>. Each entry
    /// must match a Linear the Int8 plan would quantize (FUS017).
    /// </summary>
    public string[] KeepHalfInInt8 { get; set; } = [];

    /// <summary>
    /// Lets a GEMM's generated epilogue take a global Sum or Mean of its result (a global average pool after the last convolution):
    /// the epilogue adds each value into the float32 pooled result, and the result itself is never stored for a pooling kernel to
    /// read back. Off by default: on the H200 it measured slower for ResNet-50 and ConvNeXt-T, whose last GEMM runs fastest on
    /// cuBLASLt with its own epilogue, which cannot pool (docs/perf.md, "The global pool in the last GEMM's epilogue").
    /// </summary>
    public bool PoolInGemmEpilogue { get; set; }

    /// <summary>
    /// Lets a Linear's generated epilogue go on through a window reverse and a roll (a Swin block's output projection, its window
    /// reverse, its shift back and the residual add): the epilogue computes over the GEMM's own index and stores the sum where the
    /// views put it, so the projection's windowed result is never stored for another kernel to read back; the LayerNorm after it
    /// then runs as a kernel of its own. Off by default: measured 0.3–3.4 % slower than the reverse, residual and norm in one kernel
    /// on Swin-T (H100, 2026-12-07), fast-run taking cuBLASLt's product with Fusion's epilogue kernel after it for most projections
    /// (docs/perf.md).
    /// </summary>
    public bool ViewsInGemmEpilogue { get; set; }
}

/// <summary>
/// Declares the shape of a root model's <c>Forward</c> input. Use <see cref="Dim.Batch"/> for the
/// dynamic batch dimension (at most one per input).
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
public sealed class ShapeAttribute(params int[] dims) : Attribute
{
    public int[] Dims { get; } = dims;
}

/// <summary>
/// Overrides the state-dict key segment of a parameter or sub-module member (default: the member name).
/// An empty key on a sub-module puts its parameters at this module's level (a model that wraps a configurable one).
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, Inherited = false)]
public sealed class KeyAttribute(string key) : Attribute
{
    public string Key { get; } = key;
}

/// <summary>Special dimension values for <see cref="ShapeAttribute"/>.</summary>
public static class Dim
{
    /// <summary>The dynamic batch dimension, given at run time.</summary>
    public const int Batch = -1;
}
