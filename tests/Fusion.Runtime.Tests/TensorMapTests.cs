using Fusion.Cuda;
using Xunit;

namespace Fusion.Runtime.Tests;

/// <summary>The copy engine's conditions on a matrix, refused by name before the driver sees them (no GPU needed).</summary>
public sealed class TensorMapTests
{
    [Theory]
    [InlineData(0x1000ul, 77, 96, 2, 128, 192L)]   // fp16 rows of 192 bytes
    [InlineData(0x2010ul, 1, 48, 1, 256, 48L)]     // int8, one row, the largest box
    public void AStoredMatrixWithSixteenByteRowsIsAccepted(ulong pointer, long rows, long columns, int elementBytes, int boxRows, long stride) =>
        Assert.Equal(stride, TensorMap.Check(pointer, rows, columns, elementBytes, boxRows, "x"));

    [Theory]
    [InlineData(0x1008ul, 64, 96, 2, "at 0x1008")]         // address off 16 bytes
    [InlineData(0x1000ul, 64, 203, 2, "rows of 406 bytes")] // row stride off 16 bytes
    [InlineData(0x1000ul, 64, 40, 1, "rows of 40 bytes")]   // int8: K = 40 is 40 bytes
    [InlineData(0x1000ul, 0, 96, 2, "[0, 96]")]             // no rows
    [InlineData(0x1000ul, 5_000_000_000, 96, 2, "2^32")]    // more rows than a map spans
    public void WhatTheCopyEngineCannotReadIsRefusedByName(ulong pointer, long rows, long columns, int elementBytes, string detail)
    {
        var e = Assert.Throws<FusionException>(() => TensorMap.Check(pointer, rows, columns, elementBytes, 128, "gemm_bias_n96_k203 x"));
        Assert.StartsWith("gemm_bias_n96_k203 x: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(detail, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BoxesAndElementSizesOutsideTheEnginesRangeAreArgumentErrors()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorMap.Check(0x1000, 64, 96, 2, 257, "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorMap.Check(0x1000, 64, 96, 2, 0, "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorMap.Check(0x1000, 64, 96, 4, 128, "x"));
    }

    /// <summary>A tensor map travels as one by-value parameter of 16 words: the driver reads it from that parameter's first slot.</summary>
    [Fact]
    public void AStructArgumentIsOneParameterOfItsWords()
    {
        var words = Enumerable.Range(1, TensorMap.Words).Select(i => (ulong)i * 0x0101010101010101ul).ToArray();
        var args = new KernelArguments().Struct(words).Struct(words).Int(7);
        Assert.Equal(3, args.Count);
        Assert.Equal([0, 16, 32], args.Starts());
        Assert.Equal(words.Concat(words).Append(7ul), args.ToSlots());
        Assert.Throws<ArgumentException>(() => new KernelArguments().Struct([]));
    }
}
