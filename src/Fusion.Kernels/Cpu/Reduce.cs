using System.Numerics.Tensors;

namespace Fusion.Kernels.Cpu;

/// <summary>Reductions over a middle axis of an array viewed as [outer, reduce, inner].</summary>
public static class Reduce
{
    /// <summary>y[o, i] = mean over r of x[o, r, i]; rows of <paramref name="inner"/> are summed with vector adds.</summary>
    public static void Mean(ReadOnlySpan<float> x, Span<float> y, int outer, int reduce, int inner)
    {
        float scale = 1f / reduce;
        for (int o = 0; o < outer; o++)
        {
            var dst = y.Slice(o * inner, inner);
            dst.Clear();
            for (int r = 0; r < reduce; r++) TensorPrimitives.Add(dst, x.Slice((o * reduce + r) * inner, inner), dst);
            TensorPrimitives.Multiply(dst, scale, dst);
        }
    }
}
