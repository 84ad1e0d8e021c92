using System.Buffers;
using System.Numerics;
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
        int width8 = Vector<float>.Count;
        int padded = (tokens + width8 - 1) / width8 * width8; // score rows and kᵀ rows padded to whole vectors
        bool blocked = headDim % width8 == 0;
        fixed (float* pq = qkv, pb = bias, pm = mask, po = output)
        {
            nint qAddr = (nint)pq, bAddr = (nint)pb, mAddr = (nint)pm, oAddr = (nint)po;
            Parallelism.For(windowsTotal * heads, 4L * square * headDim, (start, end) =>
            {
                // Per worker: q and v of one head gathered contiguous (tokens × headDim), k transposed (headDim × padded), scores.
                int slice = tokens * headDim;
                float[] scratch = ArrayPool<float>.Shared.Rent(2 * slice + headDim * padded + tokens * padded);
                try
                {
                    fixed (float* ps = scratch)
                    {
                        float* q = ps, v = ps + slice, kT = ps + 2 * slice, scores = kT + headDim * padded;
                        new Span<float>(kT, headDim * padded).Clear(); // the padding columns stay zero
                        for (int item = start; item < end; item++)
                        {
                            int win = item / heads, h = item % heads;
                            float* windowQkv = (float*)qAddr + 3L * win * tokens * width;
                            Gather(windowQkv, q, kT, v, tokens, padded, width, 3 * h * headDim, headDim, scale);
                            Scores(q, kT, scores, tokens, padded, headDim);
                            float* headBias = (float*)bAddr + h * square;
                            float* windowMask = hasMask ? (float*)mAddr + win % windowsPerImage * square : null;
                            float* windowOut = (float*)oAddr + (long)win * tokens * width + h * headDim;
                            for (int i = 0; i < tokens; i++)
                            {
                                var row = new Span<float>(scores + i * padded, tokens);
                                TensorPrimitives.Add(row, new ReadOnlySpan<float>(headBias + i * tokens, tokens), row);
                                if (hasMask) TensorPrimitives.Add(row, new ReadOnlySpan<float>(windowMask + i * tokens, tokens), row);
                                Softmax.InPlace(row);
                            }
                            if (blocked) TimesV(scores, v, windowOut, tokens, padded, width, headDim);
                            else TimesVByRows(scores, v, windowOut, tokens, padded, width, headDim);
                        }
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
    /// Copies one head's q (times scale, as the unfused chain scales q before the product) and v out of a window's
    /// [tokens, heads, 3, headDim] block, and k transposed into kᵀ [headDim, padded]; <paramref name="offset"/> = 3·head·headDim
    /// is where the head's slice starts in a token.
    /// </summary>
    private static unsafe void Gather(float* windowQkv, float* q, float* kT, float* v, int tokens, int padded, int width, int offset, int headDim, float scale)
    {
        for (int t = 0; t < tokens; t++)
        {
            float* at = windowQkv + 3L * t * width + offset;
            TensorPrimitives.Multiply(new ReadOnlySpan<float>(at, headDim), scale, new Span<float>(q + t * headDim, headDim));
            for (int d = 0; d < headDim; d++) kT[d * padded + t] = at[headDim + d];
            new ReadOnlySpan<float>(at + 2 * headDim, headDim).CopyTo(new Span<float>(v + t * headDim, headDim));
        }
    }

    /// <summary>
    /// scores[i, j] = q_i · k_j for a vector of keys j at a time: kᵀ's row d holds every key's element d, so a block of four
    /// query rows accumulates broadcast(q[i, d]) · kᵀ[d, j…] in four registers, one load of kᵀ per four FMAs.
    /// </summary>
    private static unsafe void Scores(float* q, float* kT, float* scores, int tokens, int padded, int headDim)
    {
        int w = Vector<float>.Count;
        for (int j = 0; j < padded; j += w)
        {
            int i = 0;
            for (; i + 4 <= tokens; i += 4)
            {
                Vector<float> s0 = default, s1 = default, s2 = default, s3 = default;
                float* q0 = q + i * headDim;
                for (int d = 0; d < headDim; d++)
                {
                    var keys = Vector.Load(kT + d * padded + j);
                    s0 = Vector.FusedMultiplyAdd(new Vector<float>(q0[d]), keys, s0);
                    s1 = Vector.FusedMultiplyAdd(new Vector<float>(q0[headDim + d]), keys, s1);
                    s2 = Vector.FusedMultiplyAdd(new Vector<float>(q0[2 * headDim + d]), keys, s2);
                    s3 = Vector.FusedMultiplyAdd(new Vector<float>(q0[3 * headDim + d]), keys, s3);
                }
                s0.Store(scores + i * padded + j);
                s1.Store(scores + (i + 1) * padded + j);
                s2.Store(scores + (i + 2) * padded + j);
                s3.Store(scores + (i + 3) * padded + j);
            }
            for (; i < tokens; i++)
            {
                Vector<float> s0 = default;
                for (int d = 0; d < headDim; d++) s0 = Vector.FusedMultiplyAdd(new Vector<float>(q[i * headDim + d]), Vector.Load(kT + d * padded + j), s0);
                s0.Store(scores + i * padded + j);
            }
        }
    }

    /// <summary>
    /// out_i = Σ_j p_ij·v_j into the head's columns, a vector of columns at a time and four rows together (headDim a whole number
    /// of vectors): one load of v per four FMAs.
    /// </summary>
    private static unsafe void TimesV(float* p, float* v, float* output, int tokens, int padded, int width, int headDim)
    {
        int w = Vector<float>.Count;
        for (int c = 0; c < headDim; c += w)
        {
            int i = 0;
            for (; i + 4 <= tokens; i += 4)
            {
                Vector<float> o0 = default, o1 = default, o2 = default, o3 = default;
                float* p0 = p + i * padded;
                for (int j = 0; j < tokens; j++)
                {
                    var values = Vector.Load(v + j * headDim + c);
                    o0 = Vector.FusedMultiplyAdd(new Vector<float>(p0[j]), values, o0);
                    o1 = Vector.FusedMultiplyAdd(new Vector<float>(p0[padded + j]), values, o1);
                    o2 = Vector.FusedMultiplyAdd(new Vector<float>(p0[2 * padded + j]), values, o2);
                    o3 = Vector.FusedMultiplyAdd(new Vector<float>(p0[3 * padded + j]), values, o3);
                }
                o0.Store(output + (long)i * width + c);
                o1.Store(output + (long)(i + 1) * width + c);
                o2.Store(output + (long)(i + 2) * width + c);
                o3.Store(output + (long)(i + 3) * width + c);
            }
            for (; i < tokens; i++)
            {
                Vector<float> o0 = default;
                for (int j = 0; j < tokens; j++) o0 = Vector.FusedMultiplyAdd(new Vector<float>(p[i * padded + j]), Vector.Load(v + j * headDim + c), o0);
                o0.Store(output + (long)i * width + c);
            }
        }
    }

    /// <summary>The same product one output row at a time (a head dim that is not a whole number of vectors).</summary>
    private static unsafe void TimesVByRows(float* p, float* v, float* output, int tokens, int padded, int width, int headDim)
    {
        for (int i = 0; i < tokens; i++)
        {
            var dst = new Span<float>(output + (long)i * width, headDim);
            dst.Clear();
            for (int j = 0; j < tokens; j++) TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(v + j * headDim, headDim), p[i * padded + j], dst, dst);
        }
    }
}
