using Fusion.Cuda;
using Fusion.Cuda.Fused;
using Fusion.Cuda.Gemm;
using Fusion.Cuda.Generated;
using static Fusion.OperandChecks;

namespace Fusion;

/// <summary>Part of <see cref="CudaBackend"/>: Linear and batched MatMul through cuBLASLt (float32 accumulation).</summary>
public sealed partial class CudaBackend
{
    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        var (input, w, b, shape) = _rules.Linear(x, weight, bias);
        int k = input.Shape[-1], n = w.Shape[0];
        return Product(input, w, b, shape, batch: 1, input.ElementCount / Math.Max(k, 1), n, k, transposeB: true, shareB: true);
    }

    public Tensor MatMul(Tensor a, Tensor b, bool transposeB)
    {
        var (left, right, shape) = _rules.MatMul(a, b, transposeB);
        int m = left.Shape[-2], k = left.Shape[-1], n = transposeB ? right.Shape[-2] : right.Shape[-1];
        long batch = left.Shape.Product(0, left.Rank - 2);
        if (batch > int.MaxValue) throw new TensorMismatchException("MatMul a", $"at most {int.MaxValue} matrices", Describe(left));
        return Product(left, right, null, shape, (int)batch, m, n, k, transposeB, shareB: right.Rank == 2);
    }

    private CudaTensor Product(CudaTensor a, CudaTensor b, CudaTensor? bias, Shape shape, int batch, long m, int n, int k, bool transposeB, bool shareB)
    {
        var y = CudaTensor.Empty(Stream, a.DType, shape);
        return Filled(y, () =>
        {
            if (y.ElementCount == 0) return;
            if (k == 0)
            {
                // An empty sum: cuBLASLt does not take K = 0, and the product is all zeros (plus the bias).
                y.FillBytes(0);
                if (bias is null) return;
                using var zeros = y.View(new Shape(checked((int)(y.ElementCount / n)), n));
                using var sum = (CudaTensor)Add(zeros, bias);
                using var shaped = sum.View(y.Shape);
                y.CopyFrom(shaped, Stream);
                return;
            }
            _state.Blas.MatMul(a, b, bias, y, batch, m, n, k, transposeB, shareB, Stream);
        });
    }
}
