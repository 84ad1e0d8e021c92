namespace Fusion.Testing;

public static partial class Ref
{
    /// <summary>
    /// Swin's relative position bias, built the way timm builds relative_position_index:
    /// coords [2, N] of the window's tokens, relative = coords[:, :, None] − coords[:, None, :],
    /// shifted by w − 1, row offset scaled by 2w − 1, summed; then table[index] viewed [N, N, heads]
    /// and permuted to [heads, N, N].
    /// </summary>
    public static RefTensor RelativePositionBias(RefTensor table, int window)
    {
        int n = window * window, heads = table.Shape[1];
        var coords = new int[2, n];
        for (int r = 0; r < window; r++)
        for (int c = 0; c < window; c++)
        {
            coords[0, r * window + c] = r;
            coords[1, r * window + c] = c;
        }
        var y = RefTensor.Derived([heads, n, n], table);
        for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
        {
            int rowDelta = coords[0, i] - coords[0, j] + window - 1;
            int colDelta = coords[1, i] - coords[1, j] + window - 1;
            int index = rowDelta * (2 * window - 1) + colDelta;
            for (int h = 0; h < heads; h++) y[h, i, j] = table[index, h];
        }
        return y;
    }

    /// <summary>
    /// timm's WindowAttention after the QKV projection, on its natural (3, heads, d) layout per token (not the
    /// re-laid-out one the fused operator reads): reshape to [B_, N, 3, heads, d], permute to
    /// [3, B_, heads, N, d], q·scale·kᵀ + bias (+ mask through a [B_/nW, nW, heads, N, N] view), softmax, ·v,
    /// heads merged back to [B_, N, heads·d].
    /// </summary>
    public static RefTensor WindowAttention(RefTensor qkv, RefTensor bias, RefTensor? mask, int heads, double scale)
    {
        int windows = qkv.Shape[0], n = qkv.Shape[1], c = qkv.Shape[2] / 3, d = c / heads;
        var parts = Permute(Reshape(qkv, windows, n, 3, heads, d), 2, 0, 3, 1, 4);
        var q = Mul(Select(parts, 0, 0), scale);
        var scores = Add(MatMul(q, Select(parts, 0, 1), transposeB: true), bias);
        if (mask is not null)
        {
            int perImage = mask.Shape[0];
            var grouped = Add(Reshape(scores, windows / perImage, perImage, heads, n, n), Reshape(mask, perImage, 1, n, n));
            scores = Reshape(grouped, windows, heads, n, n);
        }
        var attended = MatMul(Softmax(scores), Select(parts, 0, 2));
        return Reshape(Permute(attended, 0, 2, 1, 3), windows, n, c);
    }

    /// <summary>
    /// A qkv Linear's weight [3·heads·d, K] or bias [3·heads·d] with its rows reordered from (3, heads, d) to
    /// (heads, 3, d): viewed [3, heads, d, K], axes 0 and 1 swapped, viewed back to the input's shape.
    /// </summary>
    public static RefTensor QkvRelayout(RefTensor x, int heads)
    {
        int rows = x.Shape[0], rest = x.Count / rows;
        var swapped = Permute(Reshape(x, 3, heads, rows / (3 * heads), rest), 1, 0, 2, 3);
        return Reshape(swapped, x.Shape);
    }

    /// <summary>
    /// timm's shifted-window attention mask: label an [H, W] image by the slices (0, −w), (−w, −s), (−s, end)
    /// on each axis, partition the labels into windows, and put −100 between tokens whose labels differ.
    /// Shift 0 gives all zeros (timm uses no mask then).
    /// </summary>
    public static RefTensor ShiftedWindowMask(int height, int width, int window, int shift)
    {
        var labels = new RefTensor([1, height, width, 1]);
        if (shift > 0)
        {
            int[] hStarts = [0, height - window, height - shift, height], wStarts = [0, width - window, width - shift, width];
            int label = 0;
            for (int hs = 0; hs < 3; hs++)
            for (int ws = 0; ws < 3; ws++, label++)
            for (int r = hStarts[hs]; r < hStarts[hs + 1]; r++)
            for (int c = wStarts[ws]; c < wStarts[ws + 1]; c++)
                labels[0, r, c, 0] = label;
        }
        var windows = WindowPartition(labels, window);
        int count = windows.Shape[0], n = window * window;
        var mask = new RefTensor([count, n, n]);
        for (int k = 0; k < count; k++)
        for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            mask[k, i, j] = windows[k, j, 0] - windows[k, i, 0] != 0 ? -100 : 0;
        return mask;
    }
}
