namespace Fusion;

/// <summary>
/// A learned tensor of fixed shape, held in host memory as float32 (the master copy).
/// Backends make their own copies on first use and refresh them when <see cref="Version"/> changes.
/// </summary>
public sealed class Parameter
{
    public Parameter(params int[] shape)
    {
        Shape = new Shape(shape);
        Value = CpuTensor.Zeros(DType.Float32, Shape);
    }

    public Shape Shape { get; }

    /// <summary>The host copy. Write through <see cref="Load(ReadOnlySpan{float})"/> so backends see the change.</summary>
    public CpuTensor Value { get; }

    /// <summary>Incremented by every load, so device copies know when they are stale.</summary>
    public int Version { get; private set; }

    /// <summary>Replaces the values; <paramref name="source"/> must name where they came from for error messages.</summary>
    public void Load(ReadOnlySpan<float> values, string source = "values")
    {
        if (values.Length != Shape.ElementCount)
            throw new TensorMismatchException(source, $"{Shape.ElementCount} elements (shape {Shape})", $"{values.Length} elements");
        values.CopyTo(Value.Span<float>());
        Version++;
    }

    /// <summary>Fills the parameter with values drawn uniformly from [-scale, scale).</summary>
    public void InitUniform(Random random, float scale)
    {
        var span = Value.Span<float>();
        for (int i = 0; i < span.Length; i++) span[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        Version++;
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    /// <summary>
    /// The parameter as a tensor operand, so <c>F.Add(x, pos_embed)</c> reads like PyTorch: in a compiled model the parameter
    /// itself; called eagerly, <see cref="F.Value"/> (a new tensor on <see cref="F.Eager"/>).
    /// </summary>
    public static implicit operator Tensor(Parameter parameter) => F.Value(parameter);

    public void Fill(float value)
    {
        Value.Span<float>().Fill(value);
        Version++;
    }
}
