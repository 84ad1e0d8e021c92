namespace Fusion.Quantization;

/// <summary>
/// The Int8 plan's rounding simulated in a model's eager FP32 Forward, for the layers chosen: while one is open on this thread, each
/// F.Linear and one-group F.Conv2d of a chosen layer computes on its operands rounded to 8-bit codes and decoded back to floats —
/// the input per tensor with the calibrated threshold (q = clamp(round(x / sₓ), −127, 127), half to even, as the plan's fused
/// quantize stores it), the weight per output channel (max |w| / 127, as the plan's constant builder quantizes it). The products then
/// differ from the plan's exact integer sums only in the order of float additions, so a layer's cost in accuracy can be measured one
/// layer at a time without compiling a plan per choice (<see cref="QuantizationSensitivity"/>). Layers not chosen, and the compiled
/// plans, run as they would. One simulation per thread at a time; closing it ends it.
/// </summary>
public sealed class SimulatedInt8 : IDisposable
{
    [ThreadStatic]
    private static SimulatedInt8? t_current;

    private readonly string _model;
    private readonly Dictionary<Parameter, (string Layer, float Scale)> _chosen = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Parameter, CpuTensor> _weights = new(ReferenceEqualityComparer.Instance);
    private bool _closed;

    /// <summary>
    /// Opens a simulation rounding <paramref name="layers"/> ("blocks.0.mlp.fc1": a layer whose weight is a parameter of
    /// <paramref name="model"/>), each input with the threshold <paramref name="thresholds"/> holds for "&lt;layer&gt;.input" (a scale
    /// file's, <see cref="LinearInputCalibration.Thresholds"/>'). A layer the model does not have, or one without a threshold, is an error.
    /// </summary>
    public SimulatedInt8(IFusedModel model, IReadOnlyDictionary<string, double> thresholds, IEnumerable<string> layers)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(thresholds);
        ArgumentNullException.ThrowIfNull(layers);
        if (t_current is not null) throw new InvalidOperationException("an int8 simulation is already open on this thread; close it first");
        _model = model.Info.Name;
        var weights = new Dictionary<string, Parameter>(StringComparer.Ordinal);
        foreach (var (layer, weight) in LinearInputCalibration.WeightedLayers(model)) weights.TryAdd(layer, weight);
        var names = new List<string>();
        foreach (var layer in layers)
        {
            if (!weights.TryGetValue(layer, out var weight))
                throw new FusionException($"int8 simulation of {_model}: it has no layer '{layer}' (a layer is named by its weight's key less '.weight')");
            if (!thresholds.TryGetValue(layer + ".input", out double threshold))
                throw new FusionException($"int8 simulation of {_model}: no threshold for '{layer}.input'; calibrate the model (fusion-run calibrate) and pass its thresholds");
            if (!_chosen.TryAdd(weight, (layer, Int8Quantizer.ScaleFor(threshold))))
                throw new FusionException($"int8 simulation of {_model}: layer '{layer}' is listed twice");
            names.Add(layer);
        }
        Layers = names;
        t_current = this;
    }

    /// <summary>The layers whose operands are rounded.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>
    /// Called by F.Linear and F.Conv2d: null unless a simulation is open on this thread and <paramref name="weight"/>'s layer is one
    /// of its choice; else the layer's input <paramref name="x"/> rounded (a new tensor the caller disposes) and its weight rounded
    /// (owned by the simulation, shaped as <paramref name="weight"/>).
    /// </summary>
    internal static (CpuTensor Input, CpuTensor Weight)? Operands(Parameter weight, Tensor x)
    {
        var current = t_current;
        if (current is null || !current._chosen.TryGetValue(weight, out var chosen)) return null;
        if (x is not CpuTensor cpu || cpu.DType != DType.Float32)
            throw new FusionException($"int8 simulation of {current._model}: layer '{chosen.Layer}' got a {x.DType} tensor on {x.Device}; the simulation rounds the eager FP32 Forward on the CPU backend");
        return (Rounded(cpu.ToFloatArray(), chosen.Scale, cpu.Shape), current.RoundedWeight(weight));
    }

    private CpuTensor RoundedWeight(Parameter weight)
    {
        if (_weights.TryGetValue(weight, out var rounded)) return rounded;
        var values = weight.Value.ToFloatArray();
        int rows = weight.Value.Shape[0], columns = values.Length / rows;
        var scales = Int8Quantizer.RowScales(values, rows, columns);
        var codes = new sbyte[values.Length];
        Int8Quantizer.QuantizeRows(values, scales, columns, codes);
        for (int r = 0; r < rows; r++)
            Int8Quantizer.Dequantize(codes.AsSpan(r * columns, columns), scales[r], values.AsSpan(r * columns, columns));
        rounded = CpuTensor.FromArray(values, weight.Value.Shape.ToArray());
        _weights.Add(weight, rounded);
        return rounded;
    }

    private static CpuTensor Rounded(float[] values, float scale, Shape shape)
    {
        var codes = new sbyte[values.Length];
        Int8Quantizer.Quantize(values, scale, codes);
        Int8Quantizer.Dequantize(codes, scale, values);
        return CpuTensor.FromArray(values, shape.ToArray());
    }

    public void Dispose()
    {
        if (_closed) return;
        _closed = true;
        if (ReferenceEquals(t_current, this)) t_current = null;
        foreach (var w in _weights.Values) w.Dispose();
        _weights.Clear();
    }
}
