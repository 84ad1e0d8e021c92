namespace Fusion.IO;

/// <summary>A .npy file broke a rule of the format or used a feature this reader does not support.</summary>
public sealed class NpyFormatException : FusionException
{
    public NpyFormatException(string path, string rule)
        : base($"{path}: {rule}")
    {
        Path = path;
        Rule = rule;
    }

    public NpyFormatException(string path, string rule, Exception inner)
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
