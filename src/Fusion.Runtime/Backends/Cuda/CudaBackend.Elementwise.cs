using Fusion.Cuda;
using Fusion.Cuda.Fused;
using Fusion.Cuda.Gemm;
using Fusion.Cuda.Generated;
using static Fusion.OperandChecks;

namespace Fusion;

/// <summary>Part of <see cref="CudaBackend"/>: elementwise operators and casts through backend_ops.cu.</summary>
public sealed partial class CudaBackend
{
    public Tensor Cast(Tensor x, DType dtype)
    {
        var input = _rules.Cast(x, dtype);
        var y = CudaTensor.Empty(Stream, dtype, input.Shape);
        if (input.DType == dtype) y.CopyFrom(input);
        else Map($"backend_cast_{Suffix(input.DType)}_{Suffix(dtype)}", input.ElementCount, y, a => a.Pointer(input).Pointer(y).Long(input.ElementCount));
        return y;
    }

    public Tensor Add(Tensor a, Tensor b)
    {
        var (left, right, shape) = _rules.Add(a, b);
        var dims = shape.ToArray();
        var axes = Axes.Collapse(dims, [Axes.Broadcast(left.Shape, dims.Length), Axes.Broadcast(right.Shape, dims.Length)], null, "Add");
        var y = CudaTensor.Empty(Stream, left.DType, shape);
        Map($"backend_add_{Suffix(left.DType)}", y.ElementCount, y,
            args => axes.Append(axes.Append(axes.Append(args.Pointer(left).Pointer(right).Pointer(y).Long(y.ElementCount), axes.Dims), axes.Strides[0]), axes.Strides[1]));
        return y;
    }

    public Tensor Mul(Tensor x, float scalar) => Unary(_rules.Float(x, "Mul x"), 0, scalar);

    public Tensor Gelu(Tensor x) => Unary(_rules.Float(x, "Gelu x"), 1, 0);

    public Tensor Relu(Tensor x) => Unary(_rules.Float(x, "Relu x"), 2, 0);

    private CudaTensor Unary(CudaTensor x, int op, float scalar)
    {
        var y = CudaTensor.Empty(Stream, x.DType, x.Shape);
        Map($"backend_unary_{Suffix(x.DType)}", x.ElementCount, y, args => args.Pointer(x).Pointer(y).Long(x.ElementCount).Int(op).Float(scalar));
        return y;
    }
}
