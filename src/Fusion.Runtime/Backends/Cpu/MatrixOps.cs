using Fusion.Kernels.Cpu;

namespace Fusion;

/// <summary>Linear and MatMul on checked CPU operands, as GEMMs in float32.</summary>
internal static class MatrixOps
{
    /// <summary>
    /// act(x [M, K] · weightᵀ + bias) + residual (act(x · weightᵀ + bias + residual) when <paramref name="residualFirst"/>), with x's
    /// leading dims flattened into M, written as <paramref name="outType"/>
    /// (x's by default): the GEMM applies bias, activation and residual to each tile as it stores it (<see cref="GemmEpilogue"/>).
    /// <paramref name="packed"/> is the weight packed beforehand, when the caller has it. With <paramref name="conv"/>, x is that
    /// convolution's channels-last image [B, H, W, C] and the product is over its im2col windows ([B, OH, OW, N]), gathered block by
    /// block inside the GEMM (<see cref="Gemm.MultiplyConvolution"/>), never stored.
    /// </summary>
    public static CpuTensor Linear(CpuTensor x, CpuTensor weight, CpuTensor? bias, Shape outShape, DType? outType = null, PackedMatrix? packed = null,
        TileActivation activation = TileActivation.None, CpuTensor? residual = null, bool residualFirst = false, ConvolutionShape? conv = null)
    {
        int k = x.Shape[-1], n = weight.Shape[0];
        int m = checked((int)x.Shape.Product(0, x.Rank - 1));
        using var xs = new FloatInput(x);
        using var bs = bias is null ? default : new FloatInput(bias);
        using var rs = residual is null ? default : new FloatInput(residual);
        using var y = new FloatOutput(outType ?? x.DType, outShape);
        var epilogue = new GemmEpilogue(bs.Span, activation, rs.Span, residualFirst);
        if (conv is not null)
        {
            var windows = new ConvolutionWindows(conv.Height, conv.Width, conv.Channels, conv.Kernel, conv.Stride, conv.Padding, conv.Dilation);
            if (packed is null)
            {
                using var ws = new FloatInput(weight);
                packed = Gemm.Pack(ws.Span, n, weight.Shape[1], transposeB: true);
            }
            Gemm.MultiplyConvolution(xs.Span, windows, x.Shape[0], packed, y.Span, epilogue);
        }
        else if (packed is not null)
        {
            Gemm.Multiply(xs.Span, packed, y.Span, m, epilogue);
        }
        else
        {
            using var ws = new FloatInput(weight);
            Gemm.Multiply(xs.Span, ws.Span, y.Span, m, n, k, transposeB: true, epilogue);
        }
        return y.Finish();
    }

    /// <summary>
    /// The exact int32 sums of x [..., K] · weightᵀ (both int8 codes, weight [N, K]) as float32 [outShape]: each sum converted to
    /// the nearest float32 (ties to even), as the GPU's int8 template hands its sums to the epilogue.
    /// </summary>
    public static CpuTensor Int8Product(CpuTensor x, CpuTensor weight, Shape outShape)
    {
        int k = x.Shape[-1], n = weight.Shape[0];
        int m = checked((int)x.Shape.Product(0, x.Rank - 1));
        var sums = System.Buffers.ArrayPool<int>.Shared.Rent(checked(m * n));
        try
        {
            Int8Gemm.MultiplyTransposed(x.Span<sbyte>(), weight.Span<sbyte>(), sums.AsSpan(0, m * n), m, n, k);
            var y = CpuTensor.Uninitialized(DType.Float32, outShape);
            var values = y.Span<float>();
            for (int i = 0; i < values.Length; i++) values[i] = sums[i]; // int → float rounds to nearest even
            return y;
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(sums);
        }
    }

    /// <summary>
    /// x [..., K] · weightᵀ of FP8 E4M3 codes (weight [N, K]) as float32 [outShape]: every code decoded exactly and the products summed
    /// in float32, as cuBLASLt's FP8 product accumulates (the order of the sums differs, within float32 rounding).
    /// </summary>
    public static CpuTensor Fp8Product(CpuTensor x, CpuTensor weight, Shape outShape)
    {
        using var xs = Decoded(x);
        using var ws = Decoded(weight);
        return Linear(xs, ws, null, outShape, DType.Float32);
    }

    private static CpuTensor Decoded(CpuTensor codes)
    {
        var result = CpuTensor.Uninitialized(DType.Float32, codes.Shape);
        Quantization.Float8E4M3.Decode(codes.Span<byte>(), result.Span<float>());
        return result;
    }

    /// <summary>
    /// a [..., M, K] · b [..., K, N] (or b [..., N, K] transposed). A 2-D b is shared by every
    /// matrix of a (B stride 0); otherwise b has a's leading dims and is batched alongside it.
    /// </summary>
    public static CpuTensor MatMul(CpuTensor a, CpuTensor b, bool transposeB, Shape outShape)
    {
        int m = a.Shape[-2], k = a.Shape[-1];
        int n = transposeB ? b.Shape[-2] : b.Shape[-1];
        int batch = checked((int)a.Shape.Product(0, a.Rank - 2));
        using var aSpan = new FloatInput(a);
        using var bSpan = new FloatInput(b);
        using var y = new FloatOutput(a.DType, outShape);
        long strideB = b.Rank == 2 ? 0 : (long)k * n;
        Gemm.MultiplyBatched(aSpan.Span, bSpan.Span, y.Span, batch, m, n, k, transposeB, (long)m * k, strideB, (long)m * n);
        return y.Finish();
    }
}
