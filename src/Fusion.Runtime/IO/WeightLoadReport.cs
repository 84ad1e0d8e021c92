namespace Fusion.IO;

/// <summary>What a successful <see cref="WeightLoader.Load"/> did.</summary>
/// <param name="Loaded">Each parameter key with the dtype it was stored in before conversion to float32.</param>
/// <param name="Unexpected">Tensors of the file the model has no parameter for (only with <see cref="WeightLoadOptions.AllowUnexpected"/>).</param>
public sealed record WeightLoadReport(
    string Path,
    IReadOnlyList<(string Key, SafetensorsDType StoredAs)> Loaded,
    IReadOnlyList<string> Unexpected,
    IReadOnlyDictionary<string, string> Metadata);
