namespace Fusion.Quantization;

/// <summary>
/// Collects the ranges of every Linear layer's input while a model runs eagerly on this thread: open one, call the model's
/// <c>Forward</c> on each calibration batch, then <see cref="Thresholds"/> or <see cref="ToScaleFile"/>. Each F.Linear call, and
/// each one-group F.Conv2d (a Linear over its windows, whose zero padding adds no range), reports its input here (named after its
/// layer, "blocks.0.mlp.fc1.input", "layer1.0.conv2.input", from the model's parameter names); the compiled
/// <c>Run</c> is not observed. One calibration per thread at a time; closing it stops the observation.
/// </summary>
public sealed class LinearInputCalibration : IDisposable
{
    [ThreadStatic]
    private static LinearInputCalibration? t_current;

    private readonly IFusedModel _model;
    private readonly Dictionary<Parameter, string> _layers = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, RangeHistogram> _histograms = new(StringComparer.Ordinal);
    private string? _firstLayer;
    private bool _closed;

    public LinearInputCalibration(IFusedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (t_current is not null) throw new InvalidOperationException("a calibration is already open on this thread; close it first");
        _model = model;
        foreach (var (layer, weight) in WeightedLayers(model)) _layers.TryAdd(weight, layer);
        t_current = this;
    }

    /// <summary>
    /// The model's layers by name with their weights: a layer is named by its weight's key less ".weight" ("blocks.0.mlp.fc1"), the
    /// name its input's threshold ("&lt;layer&gt;.input") and keep-lists use.
    /// </summary>
    internal static IEnumerable<(string Layer, Parameter Weight)> WeightedLayers(IFusedModel model)
    {
        foreach (var (key, parameter) in model.NamedParameters())
            if (key.EndsWith(".weight", StringComparison.Ordinal)) yield return (key[..^".weight".Length], parameter);
    }

    /// <summary>The histogram of each Linear input seen so far, by tensor name ("&lt;layer&gt;.input").</summary>
    public IReadOnlyDictionary<string, RangeHistogram> Histograms => _histograms;

    /// <summary>Batches seen: how many times the first Linear observed ran.</summary>
    public int Batches { get; private set; }

    /// <summary>The clipping threshold of every observed input by <paramref name="method"/>; an error when no batch ran.</summary>
    public IReadOnlyDictionary<string, double> Thresholds(CalibrationMethod method, double percentile = ClippingThreshold.DefaultPercentile)
    {
        if (_histograms.Count == 0)
            throw new FusionException($"calibration of {_model.Info.Name}: no Linear input was seen; run the model's Forward on the calibration batches while the calibration is open");
        return _histograms.ToDictionary(h => h.Key, h => ClippingThreshold.Of(h.Value, method, percentile), StringComparer.Ordinal);
    }

    /// <summary>The thresholds as a scale file tied to this model and the weight file at <paramref name="weightsPath"/>.</summary>
    public ScaleFile ToScaleFile(string weightsPath, CalibrationMethod method, double percentile = ClippingThreshold.DefaultPercentile) =>
        new(_model.Info.Name, ScaleFile.HashOf(weightsPath), method, percentile, Thresholds(method, percentile));

    /// <summary>
    /// Runs the model's eager <c>Forward</c> (the public one taking <paramref name="inputs"/>' count of tensors) on one batch on the CPU,
    /// every intermediate freed, so each Linear it reaches is observed; an exception inside Forward surfaces as itself.
    /// </summary>
    public void Run(params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var forward = ForwardOf(_model, inputs.Length)
            ?? throw new FusionException($"calibration of {_model.Info.Name}: it has no public Forward taking {inputs.Length} tensor(s) to calibrate through");
        using var _ = Invoke(_model, forward, inputs);
    }

    /// <summary>Runs <paramref name="forward"/> eagerly in a scope of its own (every intermediate freed); an exception inside it surfaces as itself. The caller owns the result.</summary>
    internal static Tensor Invoke(IFusedModel model, System.Reflection.MethodInfo forward, Tensor[] inputs) => EagerScope.Run(() =>
    {
        try
        {
            return (Tensor)forward.Invoke(model, inputs)!;
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    });

    /// <summary>The model's public instance Forward taking <paramref name="tensors"/> tensors, or null.</summary>
    public static System.Reflection.MethodInfo? ForwardOf(IFusedModel model, int tensors) =>
        model.GetType().GetMethod("Forward", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance,
            Enumerable.Repeat(typeof(Tensor), tensors).ToArray());

    /// <summary>Called by F.Linear and F.Conv2d: records <paramref name="input"/> under <paramref name="weight"/>'s layer while a calibration is open on this thread.</summary>
    internal static void Observe(Parameter weight, Tensor input)
    {
        var current = t_current;
        if (current is null) return;
        if (!current._layers.TryGetValue(weight, out var layer))
            throw new FusionException($"calibration of {current._model.Info.Name}: a Linear or convolution whose weight is not one of the model's parameters ran; calibrate the model whose Forward runs");
        if (input is not CpuTensor cpu)
            throw new FusionException($"calibration of {current._model.Info.Name}: layer '{layer}' ran on {input.GetType().Name}; calibration reads its inputs on the CPU backend");
        string name = layer + ".input";
        if (!current._histograms.TryGetValue(name, out var histogram))
        {
            histogram = new RangeHistogram(name);
            current._histograms.Add(name, histogram);
        }
        current._firstLayer ??= name;
        if (name == current._firstLayer) current.Batches++;
        histogram.Add(cpu.ToFloatArray());
    }

    public void Dispose()
    {
        if (_closed) return;
        _closed = true;
        if (ReferenceEquals(t_current, this)) t_current = null;
    }
}
