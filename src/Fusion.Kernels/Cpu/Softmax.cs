using System.Numerics.Tensors;

namespace Fusion.Kernels.Cpu;

/// <summary>Softmax over contiguous rows, max-subtracted so exp never overflows.</summary>
public static class Softmax
{
    /// <summary>
    /// The lowest exponent a row's exp sees (after the max is subtracted): e^−80 ≈ 1.8e-35 is still a normal float32, and
    /// arithmetic on subnormals costs some CPUs (Intel's) about a hundred times more; a masked score (−100 or −∞ added) would
    /// otherwise give subnormal probabilities that every product with v then pays for. The change is below float32's
    /// resolution of the row's sum by more than 30 orders of magnitude.
    /// </summary>
    public const float LowestExponent = -80f;

    /// <summary>Softmax of one row in place: max-subtracted, clamped at <see cref="LowestExponent"/>, exp, normalized.</summary>
    public static void InPlace(Span<float> row)
    {
        TensorPrimitives.Subtract(row, TensorPrimitives.Max<float>(row), row);
        TensorPrimitives.Max(row, LowestExponent, row);
        TensorPrimitives.Exp(row, row);
        TensorPrimitives.Divide(row, TensorPrimitives.Sum<float>(row), row);
    }

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
                    src.CopyTo(dst);
                    InPlace(dst);
                }
            });
        }
    }
}
