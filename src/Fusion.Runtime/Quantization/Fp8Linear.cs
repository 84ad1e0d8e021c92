namespace Fusion.Quantization;

/// <summary>
/// The CPU reference of an FP8 Linear layer: x [m, k] encoded as E4M3 with its per-tensor scale (x · (1 / sₓ), rounded to nearest
/// even, saturated at ±448), the product of the decoded codes summed in float64, scaled by sₓ·s_w, plus the bias:
/// y[i, j] = sₓ·s_w·Σ decode(qx[i, p])·decode(qw[j, p]) + b[j]. Every product of two E4M3 values is exact in float64, so this
/// is the exact value an FP8 tensor-core GEMM approximates with its float32 accumulation.
/// </summary>
public static class Fp8Linear
{
    public static void Run(ReadOnlySpan<float> x, int m, float inputScale, Fp8Weight weight, ReadOnlySpan<float> bias, Span<double> y)
    {
        ArgumentNullException.ThrowIfNull(weight);
        int n = weight.OutFeatures, k = weight.InFeatures;
        if (!(inputScale > 0) || float.IsInfinity(inputScale)) throw new ArgumentOutOfRangeException(nameof(inputScale), inputScale, "an FP8 scale is finite and positive");
        LinearOperandChecks.Lengths("FP8 Linear", x.Length, m, k, y.Length, n, bias.Length);
        var codes = new byte[x.Length];
        Float8E4M3.Quantize(x, 1 / inputScale, codes);
        var xs = Array.ConvertAll(codes, Float8E4M3.Decode);
        var ws = Array.ConvertAll(weight.Codes, Float8E4M3.Decode);
        double scale = (double)inputScale * weight.Scale;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++) sum += (double)xs[i * k + p] * ws[j * k + p];
                y[i * n + j] = sum * scale + (bias.IsEmpty ? 0 : bias[j]);
            }
        }
    }
}
