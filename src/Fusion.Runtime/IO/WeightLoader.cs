namespace Fusion.IO;

/// <summary>
/// Loads a safetensors file into a compiled model by state-dict key. Everything is checked and
/// read before the first parameter changes, so a failed load leaves the model as it was.
/// </summary>
public static class WeightLoader
{
    /// <summary>Loads <paramref name="path"/> into <paramref name="model"/>; throws <see cref="WeightFileException"/> listing every problem.</summary>
    public static WeightLoadReport LoadWeights(this IFusedModel model, string path, WeightLoadOptions? options = null) =>
        Load(model, path, options);

    /// <inheritdoc cref="LoadWeights"/>
    public static WeightLoadReport Load(IFusedModel model, string path, WeightLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= WeightLoadOptions.Strict;
        using var file = SafetensorsFile.Open(path);
        var parameters = model.NamedParameters().ToList();
        // A converted file may hold zero-padded GEMM weights; the model sees their logical shape.
        var logical = LogicalShapes.Read(path, file.Metadata);
        Shape ShapeOf(string key) => logical.TryGetValue(key, out var dims) ? new Shape(dims) : file[key].Shape;

        var problems = new List<(string? Key, string Rule)>();
        foreach (var (key, parameter) in parameters)
        {
            if (!file.Contains(key))
                problems.Add((key, $"missing: the model expects {parameter.Shape}"));
            else if (logical.TryGetValue(key, out var dims) && (dims.Length != file[key].Shape.Rank || dims.Where((d, i) => d > file[key].Shape[i]).Any()))
                problems.Add((key, $"logical shape [{string.Join(", ", dims)}] in '{LogicalShapes.MetadataKey}' does not fit the stored {file[key].Shape}"));
            else if (ShapeOf(key) != parameter.Shape)
                problems.Add((key, $"shape {ShapeOf(key)} does not match the model's {parameter.Shape}"));
            else if (!file[key].DType.IsConvertibleToFloat32())
                problems.Add((key, $"dtype {file[key].DType} cannot be loaded into a float32 parameter (F32, F16 or BF16 only)"));
        }
        var expected = parameters.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        var unexpected = file.Tensors.Select(t => t.Name).Where(n => !expected.Contains(n)).ToList();
        if (unexpected.Count > 0 && !options.AllowUnexpected)
            problems.Add((unexpected.Count == 1 ? unexpected[0] : null, $"unexpected: model '{model.Info.Name}' has no parameter named {Quote(unexpected)} (WeightLoadOptions.IgnoreUnexpected skips them)"));
        if (problems.Count > 0)
            throw Mismatch(path, model, problems);

        // Read everything first: an I/O error halfway must not leave half a model loaded.
        var values = parameters.Select(p => logical.TryGetValue(p.Key, out var dims)
            ? LogicalShapes.Crop(file.ReadFloat32(p.Key), file[p.Key].Shape.ToArray(), dims)
            : file.ReadFloat32(p.Key)).ToList();
        for (int i = 0; i < parameters.Count; i++) parameters[i].Parameter.Load(values[i], $"{path}: {parameters[i].Key}");

        var loaded = parameters.Select(p => (p.Key, file[p.Key].DType)).ToList();
        return new WeightLoadReport(path, loaded, unexpected, file.Metadata);
    }

    private static WeightFileException Mismatch(string path, IFusedModel model, List<(string? Key, string Rule)> problems)
    {
        if (problems.Count == 1)
            return new WeightFileException(path, problems[0].Key, problems[0].Rule);
        var lines = problems.Select(p => p.Key is null ? $"  {p.Rule}" : $"  '{p.Key}': {p.Rule}");
        return new WeightFileException(path, null,
            $"{problems.Count} problems loading into model '{model.Info.Name}':{Environment.NewLine}{string.Join(Environment.NewLine, lines)}");
    }

    private static string Quote(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));
}
