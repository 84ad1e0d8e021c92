using System.Numerics.Tensors;

namespace Fusion.Kernels.Cpu;

/// <summary>Softmax over contiguous rows, max-subtracted so exp never overflows.</summary>
public static class Softmax
{
    public static unsafe void Rows(ReadOnlySpan<float> x, Span<float> y, int rows, int cols)
    {
        RowKernel.CheckRows(x.Length, y.Length, rows, cols);
        if (cols == 0) return;
        fixed (float* px = x, py = y)
        {
            nint xAddr = (nint)px, yAddr = (nint)py;
            Parallelism.For(rows, 16L * cols, (start, end) =>
            {
                for (int r = start; r < end; r++)
                {
                    var src = new ReadOnlySpan<float>((float*)xAddr + (long)r * cols, cols);
                    var dst = new Span<float>((float*)yAddr + (long)r * cols, cols);
                    TensorPrimitives.Subtract(src, TensorPrimitives.Max(src), dst);
                    TensorPrimitives.Exp(dst, dst);
                    TensorPrimitives.Divide(dst, TensorPrimitives.Sum(dst), dst);
                }
            });
        }
    }
}
