namespace Fusion.Kernels.Cpu.Fused;

/// <summary>CPU twin of the gemm_bias_act template: out = act(x·wᵀ + bias) + residual.</summary>
public static class FusedLinearTwin
{
    /// <summary>
    /// x [m, k], weight [n, k], bias [n] or empty, residual [m, n] or empty → output [m, n];
    /// activation 0 none, 1 relu, 2 gelu (erf). The blocked GEMM writes the products, then one
    /// sweep per output row applies bias, activation and residual together.
    /// </summary>
    public static void Run(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual, Span<float> output, int m, int n, int k, int activation)
    {
        FusedChecks.Positive(m, nameof(m));
        FusedChecks.Positive(n, nameof(n));
        FusedChecks.Positive(k, nameof(k));
        if (activation is < RowEpilogue.None or > RowEpilogue.Gelu)
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "activation must be 0 (none), 1 (relu) or 2 (gelu)");
        FusedChecks.Holds(x.Length, (long)m * k, nameof(x));
        FusedChecks.Holds(weight.Length, (long)n * k, nameof(weight));
        FusedChecks.Optional(bias.Length, n, nameof(bias));
        FusedChecks.Optional(residual.Length, (long)m * n, nameof(residual));
        FusedChecks.Holds(output.Length, (long)m * n, nameof(output));

        Gemm.Multiply(x, weight, output, m, n, k, transposeB: true);
        RowEpilogue.Rows(output, bias, residual, output, m, n, activation);
    }
}
