namespace Fusion.Quantization;

/// <summary>The operand checks the CPU references of the quantized Linear layers share, each naming the layer kind and the operand.</summary>
internal static class LinearOperandChecks
{
    /// <summary>x holds [m, k], y [m, n], the bias n values or none (length 0).</summary>
    public static void Lengths(string layer, int xLength, int m, int k, int yLength, int n, int biasLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        if (xLength != (long)m * k) throw new ArgumentException($"{layer}: x holds {xLength} values, not [{m}, {k}]", "x");
        if (yLength != (long)m * n) throw new ArgumentException($"{layer}: y holds {yLength} values, not [{m}, {n}]", "y");
        if (biasLength != 0 && biasLength != n) throw new ArgumentException($"{layer}: bias holds {biasLength} values, not {n}", "bias");
    }
}
