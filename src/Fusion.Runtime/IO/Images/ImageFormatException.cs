namespace Fusion.IO;

/// <summary>An image file broke a rule of its format or used a feature this decoder does not support.</summary>
public sealed class ImageFormatException(string path, string rule, Exception? inner = null)
    : FusionException($"{path}: {rule}", inner!) // Exception takes a null inner exception as "none"
{
    /// <summary>The file at fault.</summary>
    public string Path { get; } = path;

    /// <summary>The rule that was broken, without the file name.</summary>
    public string Rule { get; } = rule;
}
