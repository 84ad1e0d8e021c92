namespace Fusion.Cuda.Gemm;

/// <summary>A weight [N, K] stored zero-padded to [PaddedRows, PaddedColumns]; the logical shape is what the layer computes with.</summary>
public sealed record PaddedGemmWeight(CpuTensor Tensor, int Rows, int Columns)
{
    public int PaddedRows => Tensor.Shape[0];

    public int PaddedColumns => Tensor.Shape[1];
}

/// <summary>
/// Weight preparation for fp16 GEMMs. <see cref="Pad"/> rounds N and K up to a multiple (8 halves = 16 bytes by default)
/// with zeros, so every row starts 16-byte aligned and a K tail contributes nothing. The generated <c>gemm_bias_act</c>
/// kernel does not need it: it guards and zero-fills every edge in shared memory itself, and its only slow path
/// (K not a multiple of 8) comes from x's rows, which a weight padding cannot change. It is kept for callers that
/// own both operands (and pad x's K too) or feed libraries that prefer aligned leading dimensions.
/// </summary>
public static class GemmWeights
{
    public static PaddedGemmWeight Pad(CpuTensor weight, int multiple = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(multiple, 1);
        if (weight.Rank != 2) throw new TensorMismatchException("weight", "a rank-2 [N, K] tensor", weight.Shape.ToString());
        weight.Expect("weight", weight.Shape, DType.Float16);
        int rows = weight.Shape[0], columns = weight.Shape[1];
        int paddedRows = RoundUp(rows, multiple), paddedColumns = RoundUp(columns, multiple);
        var padded = CpuTensor.Zeros(DType.Float16, paddedRows, paddedColumns);
        var source = weight.Span<Half>();
        var target = padded.Span<Half>();
        for (int r = 0; r < rows; r++)
            source.Slice(r * columns, columns).CopyTo(target.Slice(r * paddedColumns, columns));
        return new PaddedGemmWeight(padded, rows, columns);
    }

    private static int RoundUp(int value, int multiple) => checked((value + multiple - 1) / multiple * multiple);
}
