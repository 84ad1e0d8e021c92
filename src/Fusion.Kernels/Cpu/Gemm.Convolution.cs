namespace Fusion.Kernels.Cpu;

public static partial class Gemm
{
    /// <summary>
    /// A convolution as an implicit GEMM: C [batch·OH·OW, n] = im2col(<paramref name="image"/>) · B, B packed once beforehand (the
    /// layer's weight [n, k·k·C] rows in (ky, kx, c) order), with <paramref name="epilogue"/> applied to each tile as it is stored.
    /// The im2col matrix is never stored: each work item gathers the block of window rows it multiplies next (at most
    /// <see cref="MC"/> × <see cref="KC"/>, in L2) straight from the image, so a 3 × 3 convolution reads its image about once from
    /// memory instead of writing and reading back nine copies of it.
    /// </summary>
    public static unsafe void MultiplyConvolution(ReadOnlySpan<float> image, ConvolutionWindows windows, int batch, PackedMatrix b, Span<float> c,
        GemmEpilogue epilogue)
    {
        ArgumentNullException.ThrowIfNull(b);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        windows.Check();
        if (b.Depth != windows.Depth)
            throw new ArgumentException($"convolution {windows}: the packed weight has depth {b.Depth}, the windows {windows.Depth}", nameof(b));
        int n = b.Columns, k = b.Depth;
        int m = checked(batch * windows.OutHeight * windows.OutWidth);
        if (m == 0 || n == 0) return;
        CheckLength(image.Length, 1, 0, (long)batch * windows.Height * windows.Width * windows.Channels, nameof(image));
        CheckLength(c.Length, 1, 0, (long)m * n, nameof(c));
        CheckEpilogue(epilogue, m, n);
        fixed (float* pi = image, pb = b.Panels, bias = epilogue.Bias, residual = epilogue.Residual)
        {
            nint imageAddr = (nint)pi, bAddr = (nint)pb;
            Run(Windows(imageAddr, windows), aPackLength: MC * b.DepthBlock, c, 1, m, n, k, 0, b.DepthBlock,
                (float* _, int _, int col, int _, int pc, int kc) => (float*)bAddr + b.Offset(col, pc, kc), needsPack: false, b.Wide,
                new TileEpilogue((nint)bias, epilogue.Activation, (nint)residual, n, epilogue.ResidualFirst));
        }
    }

    /// <summary>A's rows gathered from the convolution's windows into the worker's buffer, rows kc apart.</summary>
    private static unsafe ARowSource Windows(nint image, ConvolutionWindows windows) =>
        (float* buffer, int _, int row0, int rows, int pc, int kc, out int lda) =>
        {
            windows.Gather((float*)image, row0, rows, pc, kc, buffer);
            lda = kc;
            return buffer;
        };
}
