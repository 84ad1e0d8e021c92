namespace Fusion.Kernels.Cpu;

/// <summary>The spatial rearrangements of a Swin Transformer, on channels-last images [B, H, W, C].</summary>
public static class Windows
{
    /// <summary>[B, H, W, C] → [B·(H/w)·(W/w), w·w, C].</summary>
    public static void Partition<T>(ReadOnlySpan<T> x, Span<T> y, int batch, int height, int width, int channels, int window) =>
        Map(x, y, batch, height, width, channels, window, toWindows: true);

    /// <summary>[B·(H/w)·(W/w), w·w, C] → [B, H, W, C], the inverse of <see cref="Partition{T}"/>.</summary>
    public static void Reverse<T>(ReadOnlySpan<T> x, Span<T> y, int batch, int height, int width, int channels, int window) =>
        Map(x, y, batch, height, width, channels, window, toWindows: false);

    /// <summary>
    /// Walks every (image pixel, window token) pair once; each pair is a contiguous run of C channels,
    /// copied image→windows or windows→image.
    /// </summary>
    private static void Map<T>(ReadOnlySpan<T> x, Span<T> y, int batch, int height, int width, int channels, int window, bool toWindows)
    {
        int rowsOfWindows = height / window, colsOfWindows = width / window;
        int token = 0; // running index of (window, token) in window order
        for (int b = 0; b < batch; b++)
        for (int wy = 0; wy < rowsOfWindows; wy++)
        for (int wx = 0; wx < colsOfWindows; wx++)
        for (int ty = 0; ty < window; ty++)
        for (int tx = 0; tx < window; tx++, token++)
        {
            int pixel = (b * height + wy * window + ty) * width + wx * window + tx;
            int imageAt = pixel * channels, windowAt = token * channels;
            if (toWindows) x.Slice(imageAt, channels).CopyTo(y.Slice(windowAt, channels));
            else x.Slice(windowAt, channels).CopyTo(y.Slice(imageAt, channels));
        }
    }

    /// <summary>
    /// [B, H, W, C] → [B, H/2, W/2, 4C]: output channel block (2·dw + dh) holds pixel (2i + dh, 2j + dw),
    /// i.e. offsets ordered (0,0), (1,0), (0,1), (1,1) as in timm's PatchMerging.
    /// </summary>
    public static void PatchMerging<T>(ReadOnlySpan<T> x, Span<T> y, int batch, int height, int width, int channels)
    {
        int outH = height / 2, outW = width / 2;
        for (int b = 0; b < batch; b++)
        for (int i = 0; i < outH; i++)
        for (int j = 0; j < outW; j++)
        for (int dw = 0; dw < 2; dw++)
        for (int dh = 0; dh < 2; dh++)
        {
            int src = ((b * height + 2 * i + dh) * width + 2 * j + dw) * channels;
            int dst = (((b * outH + i) * outW + j) * 4 + 2 * dw + dh) * channels;
            x.Slice(src, channels).CopyTo(y.Slice(dst, channels));
        }
    }

    /// <summary>[B, C, H, W] → [B, H/p, W/p, C·p·p] with patch elements ordered (c, kh, kw), like a Conv2d weight.</summary>
    public static void Patchify<T>(ReadOnlySpan<T> x, Span<T> y, int batch, int channels, int height, int width, int patch)
    {
        int outH = height / patch, outW = width / patch;
        int dst = 0;
        for (int b = 0; b < batch; b++)
        for (int i = 0; i < outH; i++)
        for (int j = 0; j < outW; j++)
        for (int c = 0; c < channels; c++)
        for (int kh = 0; kh < patch; kh++, dst += patch)
        {
            int src = ((b * channels + c) * height + i * patch + kh) * width + j * patch;
            x.Slice(src, patch).CopyTo(y.Slice(dst, patch));
        }
    }
}
