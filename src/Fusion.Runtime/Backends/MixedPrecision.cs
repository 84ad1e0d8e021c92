namespace Fusion;

/// <summary>
/// The unfused forms of <see cref="IBackend"/>'s dtype-writing operators (an operator, then <see cref="IBackend.Cast"/>),
/// used by backends that do not do them in one pass, and the no-op-aware cast compiled plans use at their inputs and output.
/// </summary>
public static class MixedPrecision
{
    /// <summary>
    /// <paramref name="x"/> as <paramref name="dtype"/>, as a new tensor the caller owns: a cast, or a view of x
    /// (no copy) when it already has that dtype. Compiled plans cast their inputs and output with it, so a cast
    /// the input/output type makes unnecessary costs nothing.
    /// </summary>
    public static Tensor Convert(IBackend backend, Tensor x, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(x);
        return x.DType == dtype ? backend.Reshape(x, x.Shape) : backend.Cast(x, dtype);
    }

    /// <summary>Casts <paramref name="y"/> (which this call now owns) to <paramref name="dtype"/>, disposing it when a new tensor replaces it.</summary>
    internal static Tensor Then(IBackend backend, Tensor y, DType dtype)
    {
        if (y.DType == dtype) return y;
        using (y) return backend.Cast(y, dtype);
    }

    /// <summary>LayerNorm with x brought to the weight's dtype first, the result cast to <paramref name="dtype"/>.</summary>
    internal static Tensor LayerNorm(IBackend backend, Tensor x, Tensor weight, Tensor bias, float eps, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        if (x.DType == weight.DType) return Then(backend, backend.LayerNorm(x, weight, bias, eps), dtype);
        using var converted = backend.Cast(x, weight.DType);
        return Then(backend, backend.LayerNorm(converted, weight, bias, eps), dtype);
    }
}
