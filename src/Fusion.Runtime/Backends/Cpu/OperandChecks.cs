namespace Fusion;

/// <summary>
/// Operand validation for the CPU backend. Every failure is a <see cref="TensorMismatchException"/>
/// whose message reads "{operator} {operand}: expected {what}, got {dtype}{shape}".
/// </summary>
internal static class OperandChecks
{
    /// <summary>The tensor as a live CPU float tensor.</summary>
    public static CpuTensor Float(Tensor tensor, string what)
    {
        var host = Host(tensor, what);
        if (host.DType is not (DType.Float32 or DType.Float16))
            throw new TensorMismatchException(what, "an f32 or f16 tensor", Describe(host));
        return host;
    }

    /// <summary>The tensor as a live CPU tensor of any dtype.</summary>
    public static CpuTensor Host(Tensor tensor, string what)
    {
        ArgumentNullException.ThrowIfNull(tensor, what);
        tensor.ThrowIfDisposed();
        return tensor as CpuTensor ?? throw new TensorMismatchException(what, "a cpu tensor", tensor.ToString());
    }

    /// <summary>A live CPU float tensor of <paramref name="dtype"/> whose dims match <paramref name="pattern"/> (−1 matches any size).</summary>
    public static CpuTensor Dims(Tensor tensor, string what, DType dtype, params int[] pattern)
    {
        var host = Float(tensor, what);
        bool ok = host.DType == dtype && host.Rank == pattern.Length;
        for (int i = 0; ok && i < pattern.Length; i++) ok = pattern[i] < 0 || pattern[i] == host.Shape[i];
        if (!ok) throw new TensorMismatchException(what, Pattern(dtype, pattern), Describe(host));
        return host;
    }

    /// <summary>A live CPU float tensor with at least <paramref name="rank"/> axes.</summary>
    public static CpuTensor MinRank(Tensor tensor, string what, int rank, string layout)
    {
        var host = Float(tensor, what);
        if (host.Rank < rank) throw new TensorMismatchException(what, $"{host.DType.ShortName()}{layout}", Describe(host));
        return host;
    }

    /// <summary>An axis index in [−rank, rank), returned in [0, rank).</summary>
    public static int Axis(CpuTensor x, int axis, string what)
    {
        if (axis < -x.Rank || axis >= x.Rank)
            throw new TensorMismatchException(what, $"an axis in [{-x.Rank}, {x.Rank}) for a tensor of rank {x.Rank}", $"{axis} for {Describe(x)}");
        return axis < 0 ? axis + x.Rank : axis;
    }

    public static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
    }

    /// <summary>"f32[384, 95]".</summary>
    public static string Describe(Tensor tensor) => $"{tensor.DType.ShortName()}{tensor.Shape}";

    /// <summary>"f32[*, 96]" for the pattern [−1, 96].</summary>
    public static string Pattern(DType dtype, ReadOnlySpan<int> pattern)
    {
        var parts = new string[pattern.Length];
        for (int i = 0; i < pattern.Length; i++) parts[i] = pattern[i] < 0 ? "*" : pattern[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"{dtype.ShortName()}[{string.Join(", ", parts)}]";
    }
}
