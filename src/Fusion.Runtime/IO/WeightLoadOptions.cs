namespace Fusion.IO;

/// <summary>How strictly <see cref="WeightLoader"/> matches a file to a model.</summary>
public sealed record WeightLoadOptions
{
    /// <summary>
    /// Tensors the model has no parameter for are listed in the report instead of failing the load
    /// (timm state dicts carry buffers such as <c>relative_position_index</c> and <c>attn_mask</c>).
    /// </summary>
    public bool AllowUnexpected { get; init; }

    /// <summary>The default: every tensor must belong to a parameter.</summary>
    public static WeightLoadOptions Strict { get; } = new();

    /// <summary>Extra tensors are reported, not rejected.</summary>
    public static WeightLoadOptions IgnoreUnexpected { get; } = new() { AllowUnexpected = true };
}
