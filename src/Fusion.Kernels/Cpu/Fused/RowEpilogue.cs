using System.Numerics;

namespace Fusion.Kernels.Cpu.Fused;

/// <summary>
/// The elementwise tail of a fused GEMM, dst = act(src + bias) + residual, done in one sweep per row
/// while the row is in cache. With no activation it is exactly bias + residual.
/// </summary>
internal static class RowEpilogue
{
    public const int None = 0;
    public const int Relu = 1;
    public const int Gelu = 2;

    private const double InvSqrt2 = 0.7071067811865476;

    /// <summary>
    /// Rows of <paramref name="cols"/>: bias [cols] and residual [rows, cols] may be empty (none).
    /// <paramref name="src"/> may be <paramref name="dst"/> itself: each element is read once, where it is written.
    /// </summary>
    public static unsafe void Rows(ReadOnlySpan<float> src, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual, Span<float> dst, int rows, int cols, int activation)
    {
        fixed (float* ps = src, pb = bias, pr = residual, pd = dst)
        {
            nint sAddr = (nint)ps, bAddr = (nint)pb, rAddr = (nint)pr, dAddr = (nint)pd;
            int biasLength = bias.Length;
            bool hasResidual = !residual.IsEmpty;
            // erf costs tens of flops per element; the adds alone need long rows to repay a fork.
            long work = activation == Gelu ? 40L * cols : 2L * cols;
            Parallelism.For(rows, work, (start, end) =>
            {
                var b = new ReadOnlySpan<float>((float*)bAddr, biasLength);
                for (int r = start; r < end; r++)
                {
                    long at = (long)r * cols;
                    var res = hasResidual ? new ReadOnlySpan<float>((float*)rAddr + at, cols) : default;
                    Row(new ReadOnlySpan<float>((float*)sAddr + at, cols), b, res, new Span<float>((float*)dAddr + at, cols), activation);
                }
            });
        }
    }

    private static void Row(ReadOnlySpan<float> src, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual, Span<float> dst, int activation)
    {
        int n = dst.Length, j = 0;
        bool hasBias = !bias.IsEmpty, hasResidual = !residual.IsEmpty;
        // GELU's erf is scalar double math, so only the other epilogues take the vector path.
        if (activation != Gelu && Vector.IsHardwareAccelerated)
        {
            for (int vl = Vector<float>.Count; j <= n - vl; j += vl)
            {
                var v = new Vector<float>(src[j..]);
                if (hasBias) v += new Vector<float>(bias[j..]);
                if (activation == Relu) v = Vector.Max(v, Vector<float>.Zero);
                if (hasResidual) v += new Vector<float>(residual[j..]);
                v.CopyTo(dst[j..]);
            }
        }
        for (; j < n; j++)
        {
            float v = src[j];
            if (hasBias) v += bias[j];
            v = activation switch
            {
                Relu => MathF.Max(v, 0f),
                Gelu => GeluOf(v),
                _ => v,
            };
            if (hasResidual) v += residual[j];
            dst[j] = v;
        }
    }

    /// <summary>Exact GELU in double, rounded once: the same value the unfused Gelu kernel stores.</summary>
    private static float GeluOf(float x)
    {
        double v = x;
        return (float)(v * 0.5 * (1.0 + Cpu.Gelu.Erf(v * InvSqrt2)));
    }
}
