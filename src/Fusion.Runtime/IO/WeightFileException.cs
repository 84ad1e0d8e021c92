namespace Fusion.IO;

/// <summary>A weight file (safetensors) broke a rule of its format or did not match the model it was loaded into.</summary>
public sealed class WeightFileException : FusionException
{
    public WeightFileException(string path, string? tensor, string rule)
        : base(Describe(path, tensor, rule))
    {
        Path = path;
        Tensor = tensor;
        Rule = rule;
    }

    public WeightFileException(string path, string? tensor, string rule, Exception inner)
        : base(Describe(path, tensor, rule), inner)
    {
        Path = path;
        Tensor = tensor;
        Rule = rule;
    }

    private static string Describe(string path, string? tensor, string rule) =>
        tensor is null ? $"{path}: {rule}" : $"{path}: tensor '{tensor}': {rule}";

    /// <summary>The file at fault.</summary>
    public string Path { get; }

    /// <summary>The tensor at fault, or null when the rule concerns the file as a whole.</summary>
    public string? Tensor { get; }

    /// <summary>The rule that was broken, without the file and tensor names.</summary>
    public string Rule { get; }
}
