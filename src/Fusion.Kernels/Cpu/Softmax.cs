using System.Numerics;
using System.Runtime.CompilerServices;

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

    /// <summary>
    /// Softmax of one row in place: max-subtracted, clamped at <see cref="LowestExponent"/>, exp, normalized. Written out over
    /// <see cref="Vector{T}"/> rather than through TensorPrimitives, so that it is compiled fully optimized at its first call
    /// (TensorPrimitives' generic bodies start as the JIT's first-tier code; every attention row of a short run's first passes paid
    /// for it). Its maximum propagates NaN (IEEE 754 maximum, as TensorPrimitives.Max).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InPlace(Span<float> row)
    {
        if (row.IsEmpty) throw new ArgumentException("softmax of an empty row", nameof(row));
        int w = Vector<float>.Count, i = 0;
        float max;
        if (row.Length >= w)
        {
            var m = new Vector<float>(row);
            for (i = w; i + w <= row.Length; i += w) m = Vector.Max(m, new Vector<float>(row[i..]));
            max = m[0];
            for (int lane = 1; lane < w; lane++) max = MathF.Max(max, m[lane]);
        }
        else max = row[0];
        for (; i < row.Length; i++) max = MathF.Max(max, row[i]);

        var shift = new Vector<float>(max);
        var lowest = new Vector<float>(LowestExponent);
        var sums = Vector<float>.Zero;
        for (i = 0; i + w <= row.Length; i += w)
        {
            var e = Vector.Exp(Vector.Max(new Vector<float>(row[i..]) - shift, lowest));
            e.CopyTo(row[i..]);
            sums += e;
        }
        float sum = Vector.Sum(sums);
        for (; i < row.Length; i++)
        {
            float e = MathF.Exp(MathF.Max(row[i] - max, LowestExponent));
            row[i] = e;
            sum += e;
        }
        var divisor = new Vector<float>(sum);
        for (i = 0; i + w <= row.Length; i += w) (new Vector<float>(row[i..]) / divisor).CopyTo(row[i..]);
        for (; i < row.Length; i++) row[i] /= sum;
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
