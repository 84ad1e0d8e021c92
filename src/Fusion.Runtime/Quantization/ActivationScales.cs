namespace Fusion.Quantization;

/// <summary>
/// The per-tensor scales of a compiled model's int8 GEMM inputs, by name ("blocks.0.mlp.fc1.input"), as the
/// <see cref="Precision.Int8"/> plan reads them: each a [1] float32 <see cref="Parameter"/> holding threshold / 127
/// (<see cref="Int8Quantizer.ScaleFor"/>), so the backends copy it like a weight and the plan's constants built from it (the
/// dequantize factors sₓ·s_w) are rebuilt when a new file is loaded. The generated model holds one (its <c>Int8Scales</c>) with
/// the names its plan needs; <see cref="Load(ScaleFile)"/> fills all of them or none.
/// </summary>
public sealed class ActivationScales
{
    private readonly Dictionary<string, Parameter> _scales;

    public ActivationScales(string model, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(names);
        Model = model;
        Names = names;
        _scales = new Dictionary<string, Parameter>(StringComparer.Ordinal);
        foreach (var name in names)
            if (!_scales.TryAdd(name, new Parameter(1))) throw new ArgumentException($"{model}: int8 scale '{name}' is listed twice", nameof(names));
    }

    /// <summary>The model's name, which a scale file must carry.</summary>
    public string Model { get; }

    /// <summary>The tensors whose scales the Int8 plan reads.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Whether a scale file has been loaded (a model without int8 Linears needs none).</summary>
    public bool IsLoaded => Names.Count == 0 || Source is not null;

    /// <summary>Where the loaded scales came from (a file's model and calibration method), or null.</summary>
    public string? Source { get; private set; }

    /// <summary>The scale parameter of tensor <paramref name="name"/>.</summary>
    public Parameter Of(string name) => _scales.TryGetValue(name, out var p)
        ? p
        : throw new FusionException($"{Model} has no int8 scale '{name}'; its int8 tensors are {string.Join(", ", Names)}");

    /// <summary>The current scale of tensor <paramref name="name"/> (threshold / 127).</summary>
    public float ScaleOf(string name) => Of(name).Value.Span<float>()[0];

    /// <summary>Loads every scale from <paramref name="file"/>, which must be calibrated for this model and hold each name; else nothing changes.</summary>
    public void Load(ScaleFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Model != Model)
            throw new FusionException($"the scale file was calibrated for model '{file.Model}', not '{Model}'");
        Load(file.Thresholds, $"{file.Model} scale file ({file.Method.ToString().ToLowerInvariant()} calibration)");
    }

    /// <summary>Loads every scale from thresholds by name (scale = threshold / 127); a missing name is an error and nothing changes.</summary>
    public void Load(IReadOnlyDictionary<string, double> thresholds, string source = "thresholds")
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        var missing = Names.Where(n => !thresholds.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new FusionException($"{source} has no threshold for {missing.Count} of {Model}'s {Names.Count} int8 tensors: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")}; calibrate this model again");
        var scales = Names.Select(n => Int8Quantizer.ScaleFor(thresholds[n])).ToArray(); // checks each before any is written
        for (int i = 0; i < Names.Count; i++) _scales[Names[i]].Load([scales[i]], $"int8 scale of {Names[i]}");
        Source = source;
    }

    /// <summary>Throws unless scales are loaded: an Int8 run without them would quantize with meaningless scales.</summary>
    public void CheckLoaded()
    {
        if (!IsLoaded)
            throw new FusionException($"{Model} runs in Precision.Int8 or Precision.Fp8 only with the activation scales of its {Names.Count} quantized Linears: load a scale file "
                + "(fusion-run calibrate writes one) into the model's Int8Scales, or pass it in SessionOptions.Scales");
    }
}
