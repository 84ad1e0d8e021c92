using Fusion.Cuda;
using Fusion.Cuda.Fused;
using Fusion.Cuda.Gemm;
using Fusion.Cuda.Generated;
using static Fusion.OperandChecks;

namespace Fusion;

/// <summary>Part of <see cref="CudaBackend"/>: LayerNorm, Softmax and Mean: one warp (or thread) per row of backend_ops.cu.</summary>
public sealed partial class CudaBackend
{
    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps)
    {
        var (input, w, b) = _rules.LayerNorm(x, weight, bias);
        return LayerNorm(input, w, b, eps, input.DType);
    }

    public Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, float eps, DType dtype)
    {
        var (input, w, b) = _rules.LayerNorm(x, weight, bias, dtype);
        return LayerNorm(input, w, b, eps, dtype);
    }

    /// <summary>One kernel per (x, weight, output) dtype: reads either float type, computes in float32, writes <paramref name="dtype"/>.</summary>
    private CudaTensor LayerNorm(CudaTensor x, CudaTensor w, CudaTensor b, float eps, DType dtype)
    {
        var (rows, cols) = Rows(x);
        return PerRow($"backend_layer_norm_{Suffix(x.DType)}_{Suffix(w.DType)}_{Suffix(dtype)}", x, rows, dtype,
            (args, y) => args.Pointer(x).Pointer(w).Pointer(b).Pointer(y).Int(rows).Int(cols).Float(eps));
    }

    public Tensor Softmax(Tensor x)
    {
        var input = _rules.Softmax(x);
        var (rows, cols) = Rows(input);
        return PerRow($"backend_softmax_{Suffix(input.DType)}", input, rows, input.DType, (args, y) => args.Pointer(input).Pointer(y).Int(rows).Int(cols));
    }

    public Tensor Mean(Tensor x, int firstAxis, int count) => Mean(x, firstAxis, count, _rules.Float(x, "Mean x").DType);

    /// <summary>Summed in float32 and written as <paramref name="dtype"/> (an f32 mean of an f16 feature map for an f32 head).</summary>
    public Tensor Mean(Tensor x, int firstAxis, int count, DType dtype)
    {
        var (input, shape) = _rules.Mean(x, firstAxis, count);
        FloatDType(dtype, "Mean dtype");
        long outer = input.Shape.Product(0, firstAxis), reduce = input.Shape.Product(firstAxis, firstAxis + count);
        long inner = input.Shape.Product(firstAxis + count, input.Rank);
        if (outer > int.MaxValue || reduce > int.MaxValue || inner > int.MaxValue || outer * inner > int.MaxValue)
            throw new TensorMismatchException("Mean x", "fewer than 2³¹ elements in each of the outer, reduced and inner parts", Describe(input));
        var y = CudaTensor.Empty(Stream, dtype, shape);
        Map($"backend_mean_{Suffix(input.DType)}_{Suffix(dtype)}", outer * inner, y, args => args.Pointer(input).Pointer(y).Int((int)outer).Int((int)reduce).Int((int)inner));
        return y;
    }

    private static (int Rows, int Cols) Rows(CudaTensor x)
    {
        long rows = x.Shape.Product(0, x.Rank - 1);
        if (rows > int.MaxValue) throw new TensorMismatchException("x", $"fewer than 2³¹ rows", Describe(x));
        return ((int)rows, x.Shape[-1]);
    }

    private CudaTensor PerRow(string kernel, CudaTensor x, int rows, DType dtype, Func<KernelArguments, CudaTensor, KernelArguments> arguments)
    {
        var y = CudaTensor.Empty(Stream, dtype, x.Shape);
        if (x.ElementCount == 0) return y;
        return Filled(y, () => Kernel(kernel).Launch(Stream, (rows + RowsPerBlock - 1) / RowsPerBlock, BlockSize, arguments(new KernelArguments(), y)));
    }
}
