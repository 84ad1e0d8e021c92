namespace Fusion;

/// <summary>
/// Marks a partial <see cref="Module"/> class whose <c>Forward</c> method the source generator
/// compiles into a fused execution plan. The class needs a parameterless constructor; its
/// sub-modules are instantiated with constant arguments, so every dimension but the batch is static.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class FusedModelAttribute : Attribute
{
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
