namespace Fusion;

/// <summary>What the generator compiled for a model: its inputs, its parameters and how many operators run.</summary>
public sealed record ModelInfo(string Name, IReadOnlyList<InputInfo> Inputs, IReadOnlyList<ParameterInfo> Parameters, int OperatorCount)
{
    /// <summary>Total number of parameter values.</summary>
    public long ParameterCount => Parameters.Sum(p => p.ElementCount);
}

/// <summary>A model input; −1 in <see cref="Dims"/> marks the batch.</summary>
public sealed record InputInfo(string Name, int[] Dims)
{
    /// <summary>"[N, 3136, 96]".</summary>
    public string Describe() => "[" + string.Join(", ", Dims.Select(d => d == Dim.Batch ? "N" : d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
}

/// <summary>A parameter tensor by state-dict key.</summary>
public sealed record ParameterInfo(string Key, int[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
}

/// <summary>A model's parameter and the state-dict key it loads from.</summary>
public readonly record struct NamedParameter(string Key, Parameter Parameter);
