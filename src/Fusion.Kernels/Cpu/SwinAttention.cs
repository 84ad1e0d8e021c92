namespace Fusion.Kernels.Cpu;

/// <summary>The constant tensors of Swin window attention: relative position bias and the shifted-window mask.</summary>
public static class SwinAttention
{
    /// <summary>The value the mask puts between tokens of different regions (softmax sends it to ~0).</summary>
    public const float MaskValue = -100f;

    /// <summary>
    /// y[h, i, j] = table[index(i, j), h] with table [(2w−1)², heads]: for tokens i, j (row-major in the
    /// window) at (hi, wi), (hj, wj), index = (hi − hj + w − 1)·(2w − 1) + (wi − wj + w − 1).
    /// </summary>
    public static void RelativePositionBias<T>(ReadOnlySpan<T> table, Span<T> y, int window, int heads)
    {
        int tokens = window * window, span = 2 * window - 1;
        for (int i = 0; i < tokens; i++)
        for (int j = 0; j < tokens; j++)
        {
            int dh = i / window - j / window, dw = i % window - j % window;
            int row = (dh + window - 1) * span + dw + window - 1;
            for (int h = 0; h < heads; h++) y[(h * tokens + i) * tokens + j] = table[row * heads + h];
        }
    }

    /// <summary>
    /// The mask [nW, w², w²] for windows of a shifted [H, W] image: each axis is cut into the regions
    /// [0, H−w), [H−w, H−s), [H−s, H) (only when s &gt; 0), and two tokens of a window get 0 when they
    /// lie in the same region, <see cref="MaskValue"/> otherwise.
    /// </summary>
    public static void ShiftedWindowMask(Span<float> y, int height, int width, int window, int shift)
    {
        int tokens = window * window;
        int colsOfWindows = width / window, windows = height / window * colsOfWindows;
        Span<int> labels = stackalloc int[tokens];
        for (int win = 0; win < windows; win++)
        {
            int top = win / colsOfWindows * window, left = win % colsOfWindows * window;
            for (int t = 0; t < tokens; t++)
                labels[t] = Region(top + t / window, height, window, shift) * 3 + Region(left + t % window, width, window, shift);
            var block = y.Slice(win * tokens * tokens, tokens * tokens);
            for (int i = 0; i < tokens; i++)
            for (int j = 0; j < tokens; j++)
                block[i * tokens + j] = labels[i] == labels[j] ? 0f : MaskValue;
        }
    }

    private static int Region(int position, int size, int window, int shift)
    {
        if (shift == 0 || position < size - window) return 0;
        return position < size - shift ? 1 : 2;
    }
}
