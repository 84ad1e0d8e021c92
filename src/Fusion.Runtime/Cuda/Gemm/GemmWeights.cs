namespace Fusion.Cuda.Gemm;

/// <summary>A weight [N, K] stored zero-padded to [PaddedRows, PaddedColumns]; the logical shape is what the layer computes with.</summary>
public sealed record PaddedGemmWeight(CpuTensor Tensor, int Rows, int Columns)
{
    public int PaddedRows => Tensor.Shape[0];

    public int PaddedColumns => Tensor.Shape[1];
}

/// <summary>
/// Weight preparation for fp16 GEMMs. The <c>gemm</c> template reads w with a row stride of
/// <see cref="RowStride"/> (K rounded up to 8 halves = 16 bytes, its <c>KW</c> constant) so that every w row starts
/// 16-byte aligned and w tiles always move by 16-byte <c>cp.async</c>; <see cref="FusedGemm"/> makes that [N, KW] copy
/// with <see cref="PadColumns"/> once per weight. The zero columns K..KW−1 contribute nothing to the product.
/// </summary>
public static class GemmWeights
{
    /// <summary>Halves per 16-byte vector load.</summary>
    public const int VectorHalves = 8;

    /// <summary>The row stride in halves of the weight the generated kernel reads: K rounded up to a multiple of 8 (its <c>KW</c>).</summary>
    public static int RowStride(int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        return Compiler.GemmRows.Stride(k); // the rule the generator specializes kernels with

    }

    /// <summary>Rounds both N and K up to <paramref name="multiple"/> with zeros (for libraries that prefer aligned leading dimensions).</summary>
    public static PaddedGemmWeight Pad(CpuTensor weight, int multiple = VectorHalves) => Pad(weight, multiple, multiple);

    /// <summary>[N, K] → [N, KW] with zero columns K..KW−1 (KW = <see cref="RowStride"/>(K)): what the generated kernel reads.</summary>
    public static PaddedGemmWeight PadColumns(CpuTensor weight) => Pad(weight, 1, VectorHalves);

    private static PaddedGemmWeight Pad(CpuTensor weight, int rowMultiple, int columnMultiple)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowMultiple, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columnMultiple, 1);
        if (weight.Rank != 2) throw new TensorMismatchException("weight", "a rank-2 [N, K] tensor", weight.Shape.ToString());
        weight.Expect("weight", weight.Shape, DType.Float16);
        int rows = weight.Shape[0], columns = weight.Shape[1];
        int paddedRows = RoundUp(rows, rowMultiple), paddedColumns = RoundUp(columns, columnMultiple);
        var padded = CpuTensor.Zeros(DType.Float16, paddedRows, paddedColumns);
        var source = weight.Span<Half>();
        var target = padded.Span<Half>();
        for (int r = 0; r < rows; r++)
            source.Slice(r * columns, columns).CopyTo(target.Slice(r * paddedColumns, columns));
        return new PaddedGemmWeight(padded, rows, columns);
    }

    private static int RoundUp(int value, int multiple) => checked((value + multiple - 1) / multiple * multiple);
}
