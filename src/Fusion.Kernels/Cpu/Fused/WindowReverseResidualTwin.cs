using System.Numerics.Tensors;

namespace Fusion.Kernels.Cpu.Fused;

/// <summary>CPU twin of the window_reverse_residual template: window reverse, roll by +shift on H and W, residual add.</summary>
public static class WindowReverseResidualTwin
{
    /// <summary>
    /// x [B·nW, w², C], residual [B, H, W, C] → output [B, H, W, C]: each output pixel (b, i, j) is
    /// residual[b, i, j] + the window token at ((i − s) mod H, (j − s) mod W), one row of C at a time.
    /// </summary>
    public static unsafe void Run(ReadOnlySpan<float> x, ReadOnlySpan<float> residual, Span<float> output, int batch, int height, int width, int channels, int window, int shift)
    {
        var map = new ShiftedWindows(batch, height, width, channels, window, shift);
        long size = (long)map.Rows * channels;
        FusedChecks.Holds(x.Length, size, nameof(x));
        FusedChecks.Holds(residual.Length, size, nameof(residual));
        FusedChecks.Holds(output.Length, size, nameof(output));

        fixed (float* px = x, pr = residual, po = output)
        {
            nint xAddr = (nint)px, rAddr = (nint)pr, oAddr = (nint)po;
            Parallelism.For(map.Rows, 2L * channels, (start, end) =>
            {
                for (int pixel = start; pixel < end; pixel++)
                {
                    long at = (long)pixel * channels;
                    TensorPrimitives.Add(
                        new ReadOnlySpan<float>((float*)rAddr + at, channels),
                        new ReadOnlySpan<float>((float*)xAddr + (long)map.TokenOfPixel(pixel) * channels, channels),
                        new Span<float>((float*)oAddr + at, channels));
                }
            });
        }
    }
}
