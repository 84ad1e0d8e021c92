namespace Fusion;

/// <summary>
/// Operand validation shared by the backends. Every failure is a <see cref="TensorMismatchException"/>
/// whose message reads "{operator} {operand}: expected {what}, got {dtype}{shape}". The static members
/// check CPU operands (the CPU backend's view); <see cref="OperandRules{T}"/> holds the per-operator
/// rules for any backend's tensor type.
/// </summary>
internal static class OperandChecks
{
    /// <summary>The rules for live CPU tensors.</summary>
    public static OperandRules<CpuTensor> Cpu { get; } = new("cpu", _ => true);

    /// <summary>The tensor as a live CPU float tensor.</summary>
    public static CpuTensor Float(Tensor tensor, string what) => Cpu.Float(tensor, what);

    /// <summary>The tensor as a live CPU tensor of any dtype.</summary>
    public static CpuTensor Host(Tensor tensor, string what) => Cpu.Resident(tensor, what);

    /// <summary>A live CPU float tensor of <paramref name="dtype"/> whose dims match <paramref name="pattern"/> (−1 matches any size).</summary>
    public static CpuTensor Dims(Tensor tensor, string what, DType dtype, params int[] pattern) => Cpu.Dims(tensor, what, dtype, pattern);

    /// <summary>A live CPU float tensor with at least <paramref name="rank"/> axes.</summary>
    public static CpuTensor MinRank(Tensor tensor, string what, int rank, string layout) => Cpu.MinRank(tensor, what, rank, layout);

    /// <summary>An axis index in [−rank, rank), returned in [0, rank).</summary>
    public static int Axis(Tensor x, int axis, string what)
    {
        if (axis < -x.Rank || axis >= x.Rank)
            throw new TensorMismatchException(what, $"an axis in [{-x.Rank}, {x.Rank}) for a tensor of rank {x.Rank}", $"{axis} for {Describe(x)}");
        return axis < 0 ? axis + x.Rank : axis;
    }

    public static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
    }

    /// <summary>Requires f32 or f16 for an operator that creates a tensor of <paramref name="dtype"/>.</summary>
    public static void FloatDType(DType dtype, string what)
    {
        if (dtype is not (DType.Float32 or DType.Float16))
            throw new TensorMismatchException(what, "f32 or f16", dtype.ShortName());
    }

    /// <summary>The mask's shape [nW, w², w²] once the arguments are valid.</summary>
    public static Shape ShiftedWindowMaskShape(int height, int width, int window, int shift, DType dtype)
    {
        Positive(window, nameof(window));
        Positive(height, nameof(height));
        Positive(width, nameof(width));
        if (height % window != 0 || width % window != 0)
            throw new ArgumentException($"ShiftedWindowMask: height {height} and width {width} must be multiples of the window {window}");
        if (shift < 0 || shift >= window)
            throw new ArgumentOutOfRangeException(nameof(shift), shift, $"ShiftedWindowMask: shift must be in [0, {window})");
        FloatDType(dtype, "ShiftedWindowMask dtype");
        int tokens = window * window;
        return new Shape(height / window * (width / window), tokens, tokens);
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
