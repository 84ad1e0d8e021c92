namespace Fusion.Kernels.Cpu.Fused;

/// <summary>CPU twin of the window_attention template: multi-head attention inside each window, read straight from the QKV projection.</summary>
public static class WindowAttentionTwin
{
    /// <summary>
    /// qkv [windows, tokens, heads, 3, headDim] (each head's q, k, v contiguous, as a projection re-laid out by
    /// QkvRelayout writes it), bias [heads, tokens, tokens], mask [windowsPerImage, tokens, tokens]
    /// or empty → output [windows, tokens, heads·headDim]. Per (window, head): scores = (q·scale)·kᵀ + bias[h]
    /// + mask[window mod windowsPerImage], max-subtracted softmax over keys, times v, written into the head's columns:
    /// <see cref="AttentionTwin"/> with the window as the batch, this layout's strides and the mask repeating every nW windows.
    /// </summary>
    public static void Run(ReadOnlySpan<float> qkv, ReadOnlySpan<float> bias, ReadOnlySpan<float> mask, Span<float> output, int windowsTotal, int windowsPerImage, int heads, int headDim, int tokens, float scale)
    {
        FusedChecks.Positive(windowsTotal, nameof(windowsTotal));
        FusedChecks.Positive(windowsPerImage, nameof(windowsPerImage));
        FusedChecks.Positive(heads, nameof(heads));
        FusedChecks.Positive(headDim, nameof(headDim));
        FusedChecks.Positive(tokens, nameof(tokens));
        int width = checked(heads * headDim);
        long square = (long)tokens * tokens;
        FusedChecks.Holds(qkv.Length, 3L * windowsTotal * tokens * width, nameof(qkv));
        FusedChecks.Holds(bias.Length, heads * square, nameof(bias));
        FusedChecks.Optional(mask.Length, windowsPerImage * square, nameof(mask));
        FusedChecks.Holds(output.Length, (long)windowsTotal * tokens * width, nameof(output));

        long token = 3L * width, window = tokens * token;
        AttentionTwin.Run(qkv, qkv, qkv, output, new AttentionSizes(windowsTotal, heads, tokens, tokens, headDim),
            new TokenStrides(0, window, 3L * headDim, token), new TokenStrides(headDim, window, 3L * headDim, token),
            new TokenStrides(2L * headDim, window, 3L * headDim, token), new TokenStrides(0, (long)tokens * width, headDim, width),
            scale, causal: false, bias, new ScoreTerm(0, square), mask, new ScoreTerm(square, 0, windowsPerImage));
    }
}
