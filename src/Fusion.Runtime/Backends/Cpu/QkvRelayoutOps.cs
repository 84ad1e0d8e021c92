namespace Fusion;

/// <summary>
/// The load-time re-layout of a qkv Linear's weight or bias, so the GEMM writes each head's q, k and v
/// contiguous (the layout <see cref="IBackend.WindowAttention"/> reads).
/// </summary>
internal static class QkvRelayoutOps
{
    /// <summary>
    /// x [3·heads·d, ...] (checked) → same shape, rows (s, h, i) moved to (h, s, i): out row (h·3 + s)·d + i
    /// = in row (s·heads + h)·d + i. Whole rows are copied as bytes, so float16 stays bit-exact.
    /// </summary>
    public static CpuTensor Run(CpuTensor x, int heads)
    {
        var y = CpuTensor.Zeros(x.DType, x.Shape);
        int rows = x.Shape[0], d = rows / (3 * heads);
        ReadOnlySpan<byte> src = x.Bytes;
        Span<byte> dst = y.Bytes;
        // Each group of d rows (one head's q, k or v) moves as one block.
        int block = src.Length / rows * d;
        for (int h = 0; h < heads; h++)
        for (int s = 0; s < 3; s++)
            src.Slice((s * heads + h) * block, block).CopyTo(dst.Slice((h * 3 + s) * block, block));
        return y;
    }
}
