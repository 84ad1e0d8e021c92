using System.Globalization;

namespace Fusion.Imaging;

/// <summary>One of a classifier's best classes for one input: its index, softmax probability and, for ImageNet-1k outputs, its name.</summary>
public sealed record ClassScore(int Index, float Probability, string? Name)
{
    /// <summary>
    /// "281 tabby  42.17%", or "7  42.17%" without a name: a percentage with two decimals, so the near-uniform
    /// probabilities of random weights (about 0.1% each) still read as numbers.
    /// </summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Index}{(Name is null ? "" : " " + Name)}  {Probability * 100:F2}%");
}
