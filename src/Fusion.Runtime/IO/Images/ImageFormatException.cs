namespace Fusion.IO;

/// <summary>An image file broke a rule of its format or used a feature this decoder does not support.</summary>
public sealed class ImageFormatException : FusionException
{
    public ImageFormatException(string path, string rule)
        : base($"{path}: {rule}")
    {
        Path = path;
        Rule = rule;
    }

    public ImageFormatException(string path, string rule, Exception inner)
        : base($"{path}: {rule}", inner)
    {
        Path = path;
        Rule = rule;
    }

    /// <summary>The file at fault.</summary>
    public string Path { get; }

    /// <summary>The rule that was broken, without the file name.</summary>
    public string Rule { get; }
}
