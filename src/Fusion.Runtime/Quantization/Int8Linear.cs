using Fusion.Kernels.Cpu;

namespace Fusion.Quantization;

/// <summary>
/// The CPU reference of an int8 Linear layer: x [m, k] is quantized with one scale (its calibrated threshold / 127), multiplied
/// by the int8 weight exactly in integers (<see cref="Int8Gemm"/>), and each int32 sum is dequantized with the input's scale
/// times its output channel's weight scale, then the bias is added: y[i, j] = acc[i, j]·(sₓ·s_w[j]) + b[j], in float32. What an
/// int8 tensor-core GEMM with a dequantize + bias epilogue must reproduce.
/// </summary>
public static class Int8Linear
{
    public static void Run(ReadOnlySpan<float> x, int m, float inputScale, QuantizedWeight weight, ReadOnlySpan<float> bias, Span<float> y)
    {
        ArgumentNullException.ThrowIfNull(weight);
        int n = weight.OutFeatures, k = weight.InFeatures;
        LinearOperandChecks.Lengths("int8 Linear", x.Length, m, k, y.Length, n, bias.Length);
        var quantized = new sbyte[x.Length];
        Int8Quantizer.Quantize(x, inputScale, quantized);
        var sums = new int[y.Length];
        Int8Gemm.MultiplyTransposed(quantized, weight.Values, sums, m, n, k);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                y[i * n + j] = sums[i * n + j] * (inputScale * weight.Scales[j]) + (bias.IsEmpty ? 0f : bias[j]);
    }
}
