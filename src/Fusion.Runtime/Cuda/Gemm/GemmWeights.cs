namespace Fusion.Cuda.Gemm;

/// <summary>A weight [N, K] stored zero-padded to [PaddedRows, PaddedColumns]; the logical shape is what the layer computes with.</summary>
public sealed record PaddedGemmWeight(CpuTensor Tensor, int Rows, int Columns)
{
    public int PaddedRows => Tensor.Shape[0];

    public int PaddedColumns => Tensor.Shape[1];
}

/// <summary>
/// Weight preparation for the fp16 and int8 GEMMs. The <c>gemm</c> template reads w with a row stride of
/// <see cref="RowStride"/> (K rounded up to 16 bytes: 8 halves or 16 int8, its <c>KW</c> constant) so that every w row starts
/// 16-byte aligned and w tiles always move by 16-byte <c>cp.async</c>; <see cref="FusedGemm"/> makes that [N, KW] copy
/// with <see cref="PadColumns"/> once per weight. The zero columns K..KW−1 contribute nothing to the product.
/// </summary>
public static class GemmWeights
{
    /// <summary>Halves per 16-byte vector load.</summary>
    public const int VectorHalves = 8;

    /// <summary>
    /// The row stride in elements of the weight the generated kernel reads: K rounded up to a multiple of 8 halves, or of 16 for the
    /// int8 variant (its <c>KW</c>).
    /// </summary>
    public static int RowStride(int k, bool int8 = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        return Compiler.GemmRows.Stride(k, int8); // the rule the generator specializes kernels with
    }

    /// <summary>Rounds both N and K up to <paramref name="multiple"/> with zeros (for libraries that prefer aligned leading dimensions).</summary>
    public static PaddedGemmWeight Pad(CpuTensor weight, int multiple = VectorHalves) => Pad(weight, multiple, multiple);

    /// <summary>
    /// [N, K] → [N, KW] with zero columns K..KW−1 (KW = <see cref="RowStride"/>(K), for a float16 weight, or of an int8 one for the
    /// int8 template): what the generated kernel reads.
    /// </summary>
    public static PaddedGemmWeight PadColumns(CpuTensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        return Pad(weight, 1, Compiler.GemmRows.Vector(weight.DType == DType.Int8));
    }

    private static PaddedGemmWeight Pad(CpuTensor weight, int rowMultiple, int columnMultiple)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowMultiple, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columnMultiple, 1);
        if (weight.Rank != 2) throw new TensorMismatchException("weight", "a rank-2 [N, K] tensor", weight.Shape.ToString());
        if (weight.DType is not (DType.Float16 or DType.Int8))
            throw new TensorMismatchException("weight", $"float16 or int8{weight.Shape}", $"{weight.DType.ShortName()}{weight.Shape}");
        int rows = weight.Shape[0], columns = weight.Shape[1], size = weight.DType.SizeInBytes();
        int paddedRows = RoundUp(rows, rowMultiple), paddedColumns = RoundUp(columns, columnMultiple);
        var padded = CpuTensor.Zeros(weight.DType, paddedRows, paddedColumns);
        var source = weight.Bytes;
        var target = padded.Bytes;
        for (int r = 0; r < rows; r++)
            source.Slice(r * columns * size, columns * size).CopyTo(target.Slice(r * paddedColumns * size, columns * size));
        return new PaddedGemmWeight(padded, rows, columns);
    }

    private static int RoundUp(int value, int multiple) => checked((value + multiple - 1) / multiple * multiple);
}
