namespace Fusion.Imaging;

/// <summary>
/// The 1000 ImageNet-1k class names in the order timm and torchvision classifiers number their outputs
/// (0 tench, 1 goldfish, …, 999 toilet tissue). The two names ImageNet repeats are told apart as torchvision
/// does: 134 "crane bird" (517 is the machine, "crane") and 639 "maillot tank suit" (638 is "maillot").
/// </summary>
public static class ImageNetLabels
{
    /// <summary>Number of ImageNet-1k classes, the width of a classifier's output.</summary>
    public const int Count = 1000;

    private const string ResourceName = "Fusion.Imaging.imagenet-classes.txt";

    private static readonly Lazy<IReadOnlyList<string>> s_names = new(Load);

    /// <summary>Every class name, index i at position i.</summary>
    public static IReadOnlyList<string> All => s_names.Value;

    /// <summary>The name of class <paramref name="index"/> (0 to 999).</summary>
    public static string Name(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return All[index];
    }

    private static IReadOnlyList<string> Load()
    {
        using var stream = typeof(ImageNetLabels).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"resource {ResourceName} is missing from {typeof(ImageNetLabels).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        var names = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length != Count)
            throw new InvalidOperationException($"resource {ResourceName} holds {names.Length} names, not {Count}");
        return names;
    }
}
