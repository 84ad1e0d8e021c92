using System.Numerics.Tensors;
using Fusion.Kernels.Cpu;

namespace Fusion;

/// <summary>Elementwise operators and dtype conversion on checked CPU operands.</summary>
internal static class ElementwiseOps
{
    /// <summary>a + b broadcast to <paramref name="outShape"/>; size-1 and missing axes get stride 0.</summary>
    public static CpuTensor Add(CpuTensor a, CpuTensor b, Shape outShape)
    {
        using var aSpan = new FloatInput(a);
        using var bSpan = new FloatInput(b);
        using var y = new FloatOutput(a.DType, outShape);
        if (a.Shape == b.Shape)
        {
            TensorPrimitives.Add(aSpan.Span, bSpan.Span, y.Span);
        }
        else
        {
            var dims = outShape.ToArray();
            Broadcast.Add(aSpan.Span, BroadcastStrides(a.Shape, dims.Length), bSpan.Span, BroadcastStrides(b.Shape, dims.Length), y.Span, dims);
        }
        return y.Finish();
    }

    /// <summary>Strides of <paramref name="shape"/> right-aligned to <paramref name="rank"/> axes, 0 on broadcast axes.</summary>
    private static int[] BroadcastStrides(Shape shape, int rank)
    {
        var own = Layout.Strides(shape.Dims);
        var strides = new int[rank];
        for (int i = 0; i < shape.Rank; i++)
            strides[rank - shape.Rank + i] = shape[i] == 1 ? 0 : own[i];
        return strides;
    }

    public static CpuTensor Mul(CpuTensor x, float scalar)
    {
        using var xs = new FloatInput(x);
        using var y = new FloatOutput(x.DType, x.Shape);
        TensorPrimitives.Multiply(xs.Span, scalar, y.Span);
        return y.Finish();
    }

    public static CpuTensor Relu(CpuTensor x)
    {
        using var xs = new FloatInput(x);
        using var y = new FloatOutput(x.DType, x.Shape);
        TensorPrimitives.Max(xs.Span, 0f, y.Span);
        return y.Finish();
    }

    public static CpuTensor Gelu(CpuTensor x)
    {
        using var xs = new FloatInput(x);
        using var y = new FloatOutput(x.DType, x.Shape);
        Kernels.Cpu.Gelu.Apply(xs.Span, y.Span);
        return y.Finish();
    }

    /// <summary>Float32 ↔ float16 (or a plain copy when the dtype already matches).</summary>
    public static CpuTensor Cast(CpuTensor x, DType dtype)
    {
        if (x.DType == dtype) return Copy(x);
        using var xs = new FloatInput(x);
        using var y = new FloatOutput(dtype, x.Shape);
        xs.Span.CopyTo(y.Span);
        return y.Finish();
    }

    /// <summary>A new tensor with the same shape, dtype and bytes.</summary>
    public static CpuTensor Copy(CpuTensor x)
    {
        var y = CpuTensor.Zeros(x.DType, x.Shape);
        x.Bytes.CopyTo(y.Bytes);
        return y;
    }
}
