using Fusion.Kernels.Cpu;

namespace Fusion;

/// <summary>Operators over the last axis or a block of axes, on checked CPU operands.</summary>
internal static class NormalizationOps
{
    /// <summary>Any float type in (x, and weight with bias, each), <paramref name="dtype"/> out.</summary>
    public static CpuTensor LayerNorm(CpuTensor x, CpuTensor weight, CpuTensor bias, float eps, DType dtype)
    {
        var (rows, cols) = Rows(x);
        using var xs = new FloatInput(x);
        using var ws = new FloatInput(weight);
        using var bs = new FloatInput(bias);
        using var y = new FloatOutput(dtype, x.Shape);
        Kernels.Cpu.LayerNorm.Rows(xs.Span, ws.Span, bs.Span, y.Span, rows, cols, eps);
        return y.Finish();
    }

    public static CpuTensor Softmax(CpuTensor x)
    {
        var (rows, cols) = Rows(x);
        using var xs = new FloatInput(x);
        using var y = new FloatOutput(x.DType, x.Shape);
        Kernels.Cpu.Softmax.Rows(xs.Span, y.Span, rows, cols);
        return y.Finish();
    }

    /// <summary>Mean over axes [first, first + count), seen as the middle of [outer, reduce, inner]; summed in float32, written as <paramref name="dtype"/>.</summary>
    public static CpuTensor Mean(CpuTensor x, int firstAxis, int count, Shape outShape, DType dtype)
    {
        int outer = checked((int)x.Shape.Product(0, firstAxis));
        int reduce = checked((int)x.Shape.Product(firstAxis, firstAxis + count));
        int inner = checked((int)x.Shape.Product(firstAxis + count, x.Rank));
        using var xs = new FloatInput(x);
        using var y = new FloatOutput(dtype, outShape);
        Reduce.Mean(xs.Span, y.Span, outer, reduce, inner);
        return y.Finish();
    }

    private static (int Rows, int Cols) Rows(CpuTensor x) => (checked((int)x.Shape.Product(0, x.Rank - 1)), x.Shape[-1]);
}
