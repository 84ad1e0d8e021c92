using System.Numerics.Tensors;

namespace Fusion.Kernels.Cpu;

/// <summary>Layer normalization over contiguous rows: (x − mean)/√(var + eps)·weight + bias, biased variance.</summary>
public static class LayerNorm
{
    public static unsafe void Rows(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, int rows, int cols, float eps)
    {
        RowKernel.CheckRows(x.Length, y.Length, rows, cols);
        if (weight.Length != cols || bias.Length != cols) throw new ArgumentException($"weight and bias need {cols} elements");
        if (cols == 0) return;
        fixed (float* px = x, pw = weight, pb = bias, py = y)
        {
            nint xAddr = (nint)px, wAddr = (nint)pw, bAddr = (nint)pb, yAddr = (nint)py;
            Parallelism.For(rows, 8L * cols, (start, end) =>
            {
                var w = new ReadOnlySpan<float>((float*)wAddr, cols);
                var b = new ReadOnlySpan<float>((float*)bAddr, cols);
                for (int r = start; r < end; r++)
                {
                    var src = new ReadOnlySpan<float>((float*)xAddr + (long)r * cols, cols);
                    Row(src, w, b, new Span<float>((float*)yAddr + (long)r * cols, cols), eps);
                }
            });
        }
    }

    /// <summary>One row: y = (x − mean)/√(var + eps)·weight + bias over x's length (y may be x).</summary>
    public static void Row(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, float eps)
    {
        int cols = x.Length;
        y = y[..cols];
        float mean = TensorPrimitives.Sum(x) / cols;
        // Two passes (centre, then square) rather than E[x²] − E[x]², which cancels badly.
        TensorPrimitives.Subtract(x, mean, y);
        float variance = TensorPrimitives.SumOfSquares(y) / cols;
        TensorPrimitives.Multiply(y, 1f / MathF.Sqrt(variance + eps), y);
        TensorPrimitives.FusedMultiplyAdd(y, weight, bias, y);
    }
}
