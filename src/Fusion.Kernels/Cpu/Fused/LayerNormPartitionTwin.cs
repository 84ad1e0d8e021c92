using System.Numerics.Tensors;

namespace Fusion.Kernels.Cpu.Fused;

/// <summary>CPU twin of the ln_shift_partition template: LayerNorm, roll by −shift on H and W, window partition.</summary>
public static class LayerNormPartitionTwin
{
    /// <summary>
    /// x [B, H, W, C] → output [B·(H/w)·(W/w), w², C] in one pass: each output token reads its
    /// (shifted) source row, normalizes it over C with biased variance and writes it in window order.
    /// </summary>
    public static unsafe void Run(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> output, int batch, int height, int width, int channels, int window, int shift, float eps)
    {
        var map = new ShiftedWindows(batch, height, width, channels, window, shift);
        long size = (long)map.Rows * channels;
        FusedChecks.Holds(x.Length, size, nameof(x));
        if (gamma.Length != channels || beta.Length != channels)
            throw new ArgumentException($"gamma and beta need {channels} elements, got {gamma.Length} and {beta.Length}");
        FusedChecks.Holds(output.Length, size, nameof(output));

        fixed (float* px = x, pg = gamma, pb = beta, po = output)
        {
            nint xAddr = (nint)px, gAddr = (nint)pg, bAddr = (nint)pb, oAddr = (nint)po;
            Parallelism.For(map.Rows, 8L * channels, (start, end) =>
            {
                var g = new ReadOnlySpan<float>((float*)gAddr, channels);
                var b = new ReadOnlySpan<float>((float*)bAddr, channels);
                for (int token = start; token < end; token++)
                {
                    var src = new ReadOnlySpan<float>((float*)xAddr + (long)map.PixelOfToken(token) * channels, channels);
                    var dst = new Span<float>((float*)oAddr + (long)token * channels, channels);
                    // Centre first, then square: the same two-pass statistics as the unfused LayerNorm.
                    float mean = TensorPrimitives.Sum(src) / channels;
                    TensorPrimitives.Subtract(src, mean, dst);
                    float variance = TensorPrimitives.SumOfSquares(dst) / channels;
                    TensorPrimitives.Multiply(dst, 1f / MathF.Sqrt(variance + eps), dst);
                    TensorPrimitives.FusedMultiplyAdd(dst, g, b, dst);
                }
            });
        }
    }
}
