using System.Buffers;
using System.Numerics.Tensors;

namespace Fusion.Kernels.Cpu.Fused;

/// <summary>CPU twin of the window_attention template: multi-head attention inside each window, read straight from the QKV projection.</summary>
public static class WindowAttentionTwin
{
    /// <summary>
    /// qkv [windows, tokens, heads, 3, headDim] (each head's q, k, v contiguous, as a projection re-laid out by
    /// QkvRelayout writes it), bias [heads, tokens, tokens], mask [windowsPerImage, tokens, tokens]
    /// or empty → output [windows, tokens, heads·headDim]. Per (window, head): scores = (q·scale)·kᵀ + bias[h]
    /// + mask[window mod windowsPerImage], max-subtracted softmax over keys, times v, written into the head's columns.
    /// </summary>
    public static unsafe void Run(ReadOnlySpan<float> qkv, ReadOnlySpan<float> bias, ReadOnlySpan<float> mask, Span<float> output, int windowsTotal, int windowsPerImage, int heads, int headDim, int tokens, float scale)
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

        bool hasMask = !mask.IsEmpty;
        fixed (float* pq = qkv, pb = bias, pm = mask, po = output)
        {
            nint qAddr = (nint)pq, bAddr = (nint)pb, mAddr = (nint)pm, oAddr = (nint)po;
            Parallelism.For(windowsTotal * heads, 4L * square * headDim, (start, end) =>
            {
                // Per worker: q, k, v of one head gathered contiguous (tokens × headDim each), then the score matrix.
                int slice = tokens * headDim;
                float[] scratch = ArrayPool<float>.Shared.Rent(3 * slice + (int)square);
                try
                {
                    var q = scratch.AsSpan(0, slice);
                    var k = scratch.AsSpan(slice, slice);
                    var v = scratch.AsSpan(2 * slice, slice);
                    var scores = scratch.AsSpan(3 * slice, (int)square);
                    for (int item = start; item < end; item++)
                    {
                        int win = item / heads, h = item % heads;
                        var windowQkv = new ReadOnlySpan<float>((float*)qAddr + 3L * win * tokens * width, 3 * tokens * width);
                        Gather(windowQkv, q, k, v, tokens, width, 3 * h * headDim, headDim, scale);
                        Scores(q, k, scores, tokens, headDim);
                        TensorPrimitives.Add(scores, new ReadOnlySpan<float>((float*)bAddr + h * square, (int)square), scores);
                        if (hasMask)
                            TensorPrimitives.Add(scores, new ReadOnlySpan<float>((float*)mAddr + win % windowsPerImage * square, (int)square), scores);
                        var windowOut = new Span<float>((float*)oAddr + (long)win * tokens * width, tokens * width);
                        SoftmaxTimesV(scores, v, windowOut, tokens, width, h * headDim, headDim);
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(scratch);
                }
            });
        }
    }

    /// <summary>
    /// Copies one head's q (times scale, as the unfused chain scales q before the product), k and v out of a window's
    /// [tokens, heads, 3, headDim] block; <paramref name="offset"/> = 3·head·headDim is where the head's slice starts in a token.
    /// </summary>
    private static void Gather(ReadOnlySpan<float> windowQkv, Span<float> q, Span<float> k, Span<float> v, int tokens, int width, int offset, int headDim, float scale)
    {
        for (int t = 0; t < tokens; t++)
        {
            int at = 3 * t * width + offset;
            var row = t * headDim;
            TensorPrimitives.Multiply(windowQkv.Slice(at, headDim), scale, q.Slice(row, headDim));
            windowQkv.Slice(at + headDim, headDim).CopyTo(k.Slice(row, headDim));
            windowQkv.Slice(at + 2 * headDim, headDim).CopyTo(v.Slice(row, headDim));
        }
    }

    /// <summary>scores[i, j] = q_i · k_j.</summary>
    private static void Scores(ReadOnlySpan<float> q, ReadOnlySpan<float> k, Span<float> scores, int tokens, int headDim)
    {
        for (int i = 0; i < tokens; i++)
        {
            var qi = q.Slice(i * headDim, headDim);
            for (int j = 0; j < tokens; j++) scores[i * tokens + j] = TensorPrimitives.Dot(qi, k.Slice(j * headDim, headDim));
        }
    }

    /// <summary>Softmax of each score row (max-subtracted), then out_i = Σ_j p_ij·v_j into the head's columns of the window's output.</summary>
    private static void SoftmaxTimesV(Span<float> scores, ReadOnlySpan<float> v, Span<float> windowOut, int tokens, int width, int column, int headDim)
    {
        for (int i = 0; i < tokens; i++)
        {
            var p = scores.Slice(i * tokens, tokens);
            TensorPrimitives.Subtract(p, TensorPrimitives.Max(p), p);
            TensorPrimitives.Exp(p, p);
            TensorPrimitives.Divide(p, TensorPrimitives.Sum(p), p);
            var dst = windowOut.Slice(i * width + column, headDim);
            dst.Clear();
            for (int j = 0; j < tokens; j++) TensorPrimitives.MultiplyAdd(v.Slice(j * headDim, headDim), p[j], dst, dst);
        }
    }
}
