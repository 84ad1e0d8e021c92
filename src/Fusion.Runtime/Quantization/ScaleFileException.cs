namespace Fusion.Quantization;

/// <summary>An int8 scale file broke a rule of its format or does not belong to the model and weights it was loaded for.</summary>
public sealed class ScaleFileException : FusionException
{
    public ScaleFileException(string path, string rule) : base($"{path}: {rule}")
    {
        Path = path;
        Rule = rule;
    }

    public ScaleFileException(string path, string rule, Exception inner) : base($"{path}: {rule}", inner)
    {
        Path = path;
        Rule = rule;
    }

    /// <summary>The file at fault.</summary>
    public string Path { get; }

    /// <summary>The rule that was broken, without the file name.</summary>
    public string Rule { get; }
}
