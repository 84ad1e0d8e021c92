namespace Fusion.Quantization;

/// <summary>How close a run came to the float model over a set of batches: relative L2 of all outputs, and top-1 agreement over
/// <see cref="Rows"/> samples (each sample's output — a row along the first axis, a classifier's logits — compared by its arg max).</summary>
public sealed record SimulatedAccuracy(double RelativeL2, int Agreements, int Rows)
{
    public double Agreement => Rows == 0 ? 1 : (double)Agreements / Rows;
}

/// <summary>One layer rounded to int8 alone, every other layer float.</summary>
public sealed record LayerSensitivity(string Layer, SimulatedAccuracy Accuracy);

/// <summary>Every quantized layer rounded to int8 but <see cref="KeptHalf"/> (the most sensitive ones, kept at higher precision).</summary>
public sealed record KeepStep(IReadOnlyList<string> KeptHalf, SimulatedAccuracy Accuracy);

/// <summary>The whole plan int8 but the layers a given keep-list (<see cref="Policy"/>, its entries comma-separated) matches.</summary>
public sealed record PolicyAccuracy(string Policy, IReadOnlyList<string> KeptHalf, SimulatedAccuracy Accuracy);

/// <summary>
/// A model's int8 sensitivity: each layer alone, most sensitive first, then the whole plan with the first 0, 1, 2, … kept, and with
/// each keep-list asked for.
/// </summary>
public sealed record SensitivityReport(string Model, int Batches, int Rows, IReadOnlyList<LayerSensitivity> Layers, IReadOnlyList<KeepStep> Steps,
    IReadOnlyList<PolicyAccuracy> Policies)
{
    /// <summary>The first step that reaches <paramref name="agreement"/> top-1 agreement and at most <paramref name="relativeL2"/>, or null.</summary>
    public KeepStep? FirstReaching(double agreement, double relativeL2 = double.PositiveInfinity) =>
        Steps.FirstOrDefault(s => s.Accuracy.Agreement >= agreement && s.Accuracy.RelativeL2 <= relativeL2);
}

/// <summary>
/// Which Linears cost a model's Int8 plan its accuracy, measured as TensorRT's and ModelOpt's layer-wise analyses do, on the eager FP32
/// Forward with <see cref="SimulatedInt8"/>: the float outputs of the evaluation batches first, then each layer the Int8 plan quantizes
/// rounded alone (its input by the calibrated threshold, its weight per channel), ranked by the relative L2 it causes, then every layer
/// rounded but the 0, 1, … <see cref="MaxKept"/> most sensitive. The kept layers are what a model's <c>[FusedModel(KeepHalfInInt8 =
/// …)]</c> would list. A layer "kept" runs FP32 here and fp16 in the plan, whose own error (relative L2 about 1e-3 on Swin-T) the
/// simulation leaves out; so do the plan's fp16 LayerNorms, softmax and attention.
/// </summary>
public static class QuantizationSensitivity
{
    /// <summary>The most layers the keep steps take by default.</summary>
    public const int DefaultMaxKept = 8;

    /// <summary>
    /// Measures <paramref name="model"/> (its weights loaded) over <paramref name="batches"/> with the calibrated
    /// <paramref name="thresholds"/> ("&lt;layer&gt;.input"), for the layers its Int8 plan quantizes (<c>Int8Scales.Names</c>;
    /// every thresholded layer for a model without one); then the whole plan keeping what each of <paramref name="policies"/> matches
    /// (<see cref="Matching"/>; an entry matching no quantized layer is an error, before any pass runs). <paramref name="progress"/>
    /// hears each pass's name. Without <paramref name="rankLayers"/> the pass a layer is left out (the report's
    /// <see cref="SensitivityReport.Layers"/> empty) and so are the keep steps past the first, which follow the ranking: what is
    /// left is the whole plan int8 and the policies, two passes and one a policy, for trying keep-lists quickly.
    /// </summary>
    public static SensitivityReport Measure(IFusedModel model, IReadOnlyDictionary<string, double> thresholds, IReadOnlyList<Tensor> batches,
        int maxKept = DefaultMaxKept, Action<string>? progress = null, IReadOnlyList<string>? policies = null, bool rankLayers = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(thresholds);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentOutOfRangeException.ThrowIfNegative(maxKept);
        if (batches.Count == 0) throw new FusionException($"int8 sensitivity of {model.Info.Name}: no evaluation batch");
        var forward = LinearInputCalibration.ForwardOf(model, 1)
            ?? throw new FusionException($"int8 sensitivity of {model.Info.Name}: it has no public Forward(Tensor) to run");
        var layers = QuantizedLayers(model, thresholds);
        if (layers.Count == 0) throw new FusionException($"int8 sensitivity of {model.Info.Name}: its Int8 plan quantizes no Linear");
        var asked = (policies ?? []).Select(p => (Policy: p, Layers: Matching(model.Info.Name, layers, p))).ToList();

        var reference = batches.Select(b => Outputs(model, forward, b, "float")).ToList();
        int rows = reference.Sum(r => r.Length / r.Columns);
        SimulatedAccuracy Run(IEnumerable<string> rounded, string name)
        {
            progress?.Invoke(name);
            using var simulation = new SimulatedInt8(model, thresholds, rounded);
            var outputs = batches.Select(b => Outputs(model, forward, b, name)).ToList();
            return Compare(outputs, reference);
        }

        var ranked = !rankLayers ? [] : layers.Select(l => new LayerSensitivity(l, Run([l], l)))
            .OrderByDescending(s => s.Accuracy.RelativeL2).ThenBy(s => s.Layer, StringComparer.Ordinal).ToList();
        var steps = new List<KeepStep>();
        for (int kept = 0; kept <= (rankLayers ? Math.Min(maxKept, layers.Count - 1) : 0); kept++)
        {
            var keep = ranked.Take(kept).Select(s => s.Layer).ToList();
            steps.Add(new KeepStep(keep, Run(layers.Except(keep), kept == 0 ? "all int8" : $"all int8 but {kept}")));
        }
        var policyResults = asked.Select(p => new PolicyAccuracy(p.Policy, p.Layers, Run(layers.Except(p.Layers), $"policy {p.Policy}"))).ToList();
        return new SensitivityReport(model.Info.Name, batches.Count, rows, ranked, steps, policyResults);
    }

    /// <summary>
    /// The layers of <paramref name="layers"/> a keep-list matches: its entries comma-separated, each a layer path as
    /// <c>KeepHalfInInt8</c> takes them — a layer, or a module above it ("layers.1.blocks.0" covers its four Linears), "*" for any one
    /// segment ("layers.*.blocks.*.mlp.fc2"). Operator entries ("F.Linear") and an entry matching no quantized layer are errors.
    /// </summary>
    public static IReadOnlyList<string> Matching(string model, IReadOnlyList<string> layers, string policy)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(policy);
        var entries = policy.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (entries.Length == 0) throw new FusionException($"int8 sensitivity of {model}: keep-list '{policy}' has no entry");
        var matched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.StartsWith("F.", StringComparison.Ordinal))
                throw new FusionException($"int8 sensitivity of {model}: keep-list entry '{entry}' names an operator; list layer paths ('head', 'layers.*.blocks.*.mlp.fc2')");
            var hits = layers.Where(l => Compiler.LayerPath.Under(l, entry)).ToList();
            if (hits.Count == 0) throw new FusionException($"int8 sensitivity of {model}: keep-list entry '{entry}' matches none of its {layers.Count} int8 Linears");
            matched.UnionWith(hits);
        }
        return layers.Where(matched.Contains).ToList();
    }

    /// <summary>The layers the model's Int8 plan quantizes, in its order: its scales' names less ".input"; each must have a threshold.</summary>
    public static IReadOnlyList<string> QuantizedLayers(IFusedModel model, IReadOnlyDictionary<string, double> thresholds)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(thresholds);
        var names = model.Int8Scales?.Names ?? thresholds.Keys.Order(StringComparer.Ordinal).ToList();
        var missing = names.Where(n => !thresholds.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new FusionException($"int8 sensitivity of {model.Info.Name}: the thresholds lack {missing.Count} of its {names.Count} int8 inputs ({string.Join(", ", missing.Take(3))}{(missing.Count > 3 ? ", …" : "")}); calibrate this model again");
        return names.Select(n => n.EndsWith(".input", StringComparison.Ordinal) ? n[..^".input".Length]
            : throw new FusionException($"int8 sensitivity of {model.Info.Name}: '{n}' is not a Linear's input (\"<layer>.input\")")).ToList();
    }

    /// <summary>A pass's outputs, <see cref="Columns"/> values a sample.</summary>
    private readonly record struct Output(float[] Values, int Columns)
    {
        public int Length => Values.Length;
    }

    private static Output Outputs(IFusedModel model, System.Reflection.MethodInfo forward, Tensor batch, string pass)
    {
        using var y = LinearInputCalibration.Invoke(model, forward, [batch]);
        if (y is not CpuTensor cpu) throw new FusionException($"int8 sensitivity of {model.Info.Name}: Forward returned a {y.Device} tensor; it runs on the CPU backend");
        var values = cpu.ToFloatArray();
        if (values.Any(v => !float.IsFinite(v)))
            throw new FusionException($"int8 sensitivity of {model.Info.Name}: pass '{pass}' gave NaN or ∞ outputs");
        return new Output(values, Math.Max(1, y.Shape.Rank == 0 || y.Shape[0] == 0 ? values.Length : values.Length / y.Shape[0]));
    }

    private static SimulatedAccuracy Compare(IReadOnlyList<Output> outputs, IReadOnlyList<Output> reference)
    {
        double diff = 0, norm = 0;
        int agreements = 0, rows = 0;
        for (int b = 0; b < outputs.Count; b++)
        {
            var (a, r) = (outputs[b].Values, reference[b].Values);
            for (int i = 0; i < a.Length; i++)
            {
                double d = (double)a[i] - r[i];
                diff += d * d;
                norm += (double)r[i] * r[i];
            }
            int columns = reference[b].Columns;
            for (int row = 0; row < a.Length / columns; row++, rows++)
                if (ArgMax(a.AsSpan(row * columns, columns)) == ArgMax(r.AsSpan(row * columns, columns))) agreements++;
        }
        return new SimulatedAccuracy(norm == 0 ? Math.Sqrt(diff) : Math.Sqrt(diff / norm), agreements, rows);
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++)
            if (row[i] > row[best]) best = i;
        return best;
    }
}
