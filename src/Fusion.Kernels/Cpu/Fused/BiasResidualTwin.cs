namespace Fusion.Kernels.Cpu.Fused;

/// <summary>CPU twin of the bias_residual template: out = x + bias[c] + residual.</summary>
public static class BiasResidualTwin
{
    /// <summary>x and residual [rows, channels], bias [channels] → output [rows, channels], one sweep per row.</summary>
    public static void Run(ReadOnlySpan<float> x, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual, Span<float> output, int rows, int channels)
    {
        FusedChecks.Positive(rows, nameof(rows));
        FusedChecks.Positive(channels, nameof(channels));
        long size = (long)rows * channels;
        FusedChecks.Holds(x.Length, size, nameof(x));
        if (bias.Length != channels) throw new ArgumentException($"bias holds {bias.Length} elements, needs {channels}", nameof(bias));
        FusedChecks.Holds(residual.Length, size, nameof(residual));
        FusedChecks.Holds(output.Length, size, nameof(output));

        RowEpilogue.Rows(x, bias, residual, output, rows, channels, RowEpilogue.None);
    }
}
