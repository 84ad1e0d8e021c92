using System.Globalization;

namespace Fusion.Imaging;

/// <summary>One of a classifier's best classes for one input: its index, softmax probability and, for ImageNet-1k outputs, its name.</summary>
public sealed record ClassScore(int Index, float Probability, string? Name)
{
    /// <summary>"281 tabby  0.42", or "7  0.42" without a name.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Index}{(Name is null ? "" : " " + Name)}  {Probability:F2}");
}
