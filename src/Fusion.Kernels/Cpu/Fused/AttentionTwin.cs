using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Fusion.Kernels.Cpu.Fused;

/// <summary>Where element (batch, head, token, e) of an attention operand lies: Offset + batch·Batch + head·Head + token·Token + e.</summary>
public readonly record struct TokenStrides(long Offset, long Batch, long Head, long Token)
{
    /// <summary>The last element index an operand of these sizes touches, plus one (what its span must hold).</summary>
    public long Extent(int batch, int heads, int tokens, int headDim) =>
        Offset + (batch - 1) * Batch + (heads - 1) * Head + (tokens - 1) * Token + headDim;
}

/// <summary>
/// An additive term of the scores, [·, Tq, Tk] rows of Tk: element (batch, head, i, j) at (batch mod Period)·Batch + head·Head +
/// i·Tk + j; Period 0 uses the batch index as it is (Swin's mask repeats every nW windows: Period nW). Strides of 0 broadcast.
/// </summary>
public readonly record struct ScoreTerm(long Batch, long Head, int Period = 0);

/// <summary>Batch, heads, query and key lengths and the head dim of one attention call.</summary>
public readonly record struct AttentionSizes(int Batch, int Heads, int Tq, int Tk, int HeadDim);

/// <summary>
/// CPU twin of the attention templates (attention, and window_attention through <see cref="WindowAttentionTwin"/>):
/// softmax(q·kᵀ·scale + bias + mask, causal)·v in float32 for operands addressed by strides, so packed projections and merged
/// outputs are read and written where they are. Work items are (batch, head, block of 64 query rows) spread over the cores; a
/// worker gathers its head's kᵀ and v once and keeps them while its items stay on that head. Scores of a block are computed in
/// four-row register blocks against kᵀ, softmax runs over each row's visible keys (all, or j ≤ i when causal; a row with no
/// finite score gets zeros), then p·v in four-row blocks.
/// The per-item body and its loops are compiled fully optimized at their first call (AggressiveOptimization): under tiered
/// compilation a short run's first passes ran them as the JIT's first-tier code, 7× slower (docs/perf.md, 2026-12-05).
/// </summary>
public static class AttentionTwin
{
    private const int QueryBlock = 64;

    public static unsafe void Run(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, AttentionSizes sizes,
        TokenStrides qs, TokenStrides ks, TokenStrides vs, TokenStrides os, float scale, bool causal,
        ReadOnlySpan<float> bias = default, ScoreTerm biasTerm = default, ReadOnlySpan<float> mask = default, ScoreTerm maskTerm = default)
    {
        var (batch, heads, tq, tk, d) = sizes;
        FusedChecks.Positive(batch, nameof(batch));
        FusedChecks.Positive(heads, nameof(heads));
        FusedChecks.Positive(tq, nameof(tq));
        FusedChecks.Positive(tk, nameof(tk));
        FusedChecks.Positive(d, nameof(d));
        FusedChecks.Holds(q.Length, qs.Extent(batch, heads, tq, d), nameof(q));
        FusedChecks.Holds(k.Length, ks.Extent(batch, heads, tk, d), nameof(k));
        FusedChecks.Holds(v.Length, vs.Extent(batch, heads, tk, d), nameof(v));
        FusedChecks.Holds(output.Length, os.Extent(batch, heads, tq, d), nameof(output));
        if (!bias.IsEmpty) FusedChecks.Holds(bias.Length, Extent(biasTerm, batch, heads, tq, tk), nameof(bias));
        if (!mask.IsEmpty) FusedChecks.Holds(mask.Length, Extent(maskTerm, batch, heads, tq, tk), nameof(mask));

        int w = Vector<float>.Count;
        int padded = (tk + w - 1) / w * w; // score rows and kᵀ rows padded to whole vectors
        int blocks = (tq + QueryBlock - 1) / QueryBlock;
        bool hasBias = !bias.IsEmpty, hasMask = !mask.IsEmpty;
        fixed (float* pq = q, pk = k, pv = v, po = output, pb = bias, pm = mask)
        {
            nint qAddr = (nint)pq, kAddr = (nint)pk, vAddr = (nint)pv, oAddr = (nint)po, bAddr = (nint)pb, mAddr = (nint)pm;
            Parallelism.For(checked(batch * heads * blocks), 4L * Math.Min(tq, QueryBlock) * tk * d, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
            {
                int rows = Math.Min(tq, QueryBlock);
                float[] scratch = ArrayPool<float>.Shared.Rent(rows * d + tk * d + d * padded + rows * padded);
                try
                {
                    fixed (float* ps = scratch)
                    {
                        float* qBlock = ps, vHead = ps + rows * d, kT = vHead + tk * d, scores = kT + d * padded;
                        new Span<float>(kT, d * padded).Clear(); // the padding columns stay zero
                        int gathered = -1;
                        for (int item = start; item < end; item++)
                        {
                            int head = item / blocks, b = head / heads, h = head % heads, i0 = item % blocks * QueryBlock;
                            int n = Math.Min(QueryBlock, tq - i0);
                            if (head != gathered)
                            {
                                GatherKeys((float*)kAddr, (float*)vAddr, ks, vs, b, h, tk, d, kT, vHead, padded);
                                gathered = head;
                            }
                            float* qRow = (float*)qAddr + qs.Offset + b * qs.Batch + h * qs.Head;
                            for (int r = 0; r < n; r++) Scaled(qRow + (i0 + r) * qs.Token, scale, qBlock + r * d, d);
                            // Causal: no row of this block sees a key past its last row.
                            int keys = causal ? Math.Min(tk, i0 + n) : tk;
                            Scores(qBlock, kT, scores, n, (keys + w - 1) / w * w, padded, d);
                            for (int r = 0; r < n; r++)
                            {
                                int i = i0 + r;
                                var row = new Span<float>(scores + r * padded, keys);
                                if (hasBias) AddTerm(row, (float*)bAddr, biasTerm, b, h, i, tk);
                                if (hasMask) AddTerm(row, (float*)mAddr, maskTerm, b, h, i, tk);
                                VisibleSoftmax(row, causal ? Math.Min(keys, i + 1) : keys);
                            }
                            float* oRow = (float*)oAddr + os.Offset + b * os.Batch + h * os.Head + i0 * os.Token;
                            if (d % w == 0) TimesV(scores, vHead, oRow, n, keys, padded, os.Token, d);
                            else TimesVByRows(scores, vHead, oRow, n, keys, padded, os.Token, d);
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

    private static long Extent(ScoreTerm term, int batch, int heads, int tq, int tk)
    {
        long lastBatch = term.Period > 0 ? Math.Min(batch, term.Period) - 1 : batch - 1;
        return lastBatch * term.Batch + (heads - 1) * term.Head + (long)tq * tk;
    }

    /// <summary>Head (b, h)'s keys transposed into kᵀ [d, padded] and its values into v [tk, d], contiguous.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static unsafe void GatherKeys(float* k, float* v, TokenStrides ks, TokenStrides vs, int b, int h, int tk, int d, float* kT, float* vHead, int padded)
    {
        float* kHead = k + ks.Offset + b * ks.Batch + h * ks.Head;
        float* vSource = v + vs.Offset + b * vs.Batch + h * vs.Head;
        for (int t = 0; t < tk; t++)
        {
            float* key = kHead + t * ks.Token;
            for (int e = 0; e < d; e++) kT[e * padded + t] = key[e];
            new ReadOnlySpan<float>(vSource + t * vs.Token, d).CopyTo(new Span<float>(vHead + t * d, d));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static unsafe void AddTerm(Span<float> row, float* term, ScoreTerm strides, int b, int h, int i, int tk)
    {
        long batch = strides.Period > 0 ? b % strides.Period : b;
        float* source = term + batch * strides.Batch + h * strides.Head + (long)i * tk;
        int w = Vector<float>.Count, e = 0;
        for (; e + w <= row.Length; e += w) (new Vector<float>(row[e..]) + Vector.Load(source + e)).CopyTo(row[e..]);
        for (; e < row.Length; e++) row[e] += source[e];
    }

    /// <summary>y = x · scale over <paramref name="d"/> values (a query row scaled into its block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static unsafe void Scaled(float* x, float scale, float* y, int d)
    {
        int w = Vector<float>.Count, e = 0;
        for (var factor = new Vector<float>(scale); e + w <= d; e += w) (Vector.Load(x + e) * factor).Store(y + e);
        for (; e < d; e++) y[e] = x[e] * scale;
    }

    /// <summary>Softmax over the row's first <paramref name="visible"/> scores, zeros after them; zeros throughout when none is finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static void VisibleSoftmax(Span<float> row, int visible)
    {
        var seen = row[..visible];
        if (visible == 0 || AllNegativeInfinity(seen)) seen.Clear();
        else Softmax.InPlace(seen);
        row[visible..].Clear();
    }

    /// <summary>Whether every score is −∞ (a row no key is visible to): its maximum would be −∞.</summary>
    private static bool AllNegativeInfinity(ReadOnlySpan<float> row)
    {
        foreach (float x in row)
            if (!float.IsNegativeInfinity(x)) return false;
        return true;
    }

    /// <summary>
    /// scores[i, j] = q_i · k_j for a vector of keys j at a time over the first <paramref name="keys"/> (a multiple of the vector)
    /// columns: kᵀ's row e holds every key's element e, so a block of four query rows accumulates broadcast(q[i, e]) · kᵀ[e, j…] in
    /// four registers, one load of kᵀ per four FMAs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static unsafe void Scores(float* q, float* kT, float* scores, int rows, int keys, int padded, int d)
    {
        int w = Vector<float>.Count;
        for (int j = 0; j < keys; j += w)
        {
            int i = 0;
            for (; i + 4 <= rows; i += 4)
            {
                Vector<float> s0 = default, s1 = default, s2 = default, s3 = default;
                float* q0 = q + i * d;
                for (int e = 0; e < d; e++)
                {
                    var column = Vector.Load(kT + e * padded + j);
                    s0 = Vector.FusedMultiplyAdd(new Vector<float>(q0[e]), column, s0);
                    s1 = Vector.FusedMultiplyAdd(new Vector<float>(q0[d + e]), column, s1);
                    s2 = Vector.FusedMultiplyAdd(new Vector<float>(q0[2 * d + e]), column, s2);
                    s3 = Vector.FusedMultiplyAdd(new Vector<float>(q0[3 * d + e]), column, s3);
                }
                s0.Store(scores + i * padded + j);
                s1.Store(scores + (i + 1) * padded + j);
                s2.Store(scores + (i + 2) * padded + j);
                s3.Store(scores + (i + 3) * padded + j);
            }
            for (; i < rows; i++)
            {
                Vector<float> s0 = default;
                for (int e = 0; e < d; e++) s0 = Vector.FusedMultiplyAdd(new Vector<float>(q[i * d + e]), Vector.Load(kT + e * padded + j), s0);
                s0.Store(scores + i * padded + j);
            }
        }
    }

    /// <summary>
    /// out_i = Σ_j p_ij·v_j over the first <paramref name="keys"/> keys, a vector of columns at a time and four rows together (d a
    /// whole number of vectors): one load of v per four FMAs. Output rows are <paramref name="rowStride"/> apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static unsafe void TimesV(float* p, float* v, float* output, int rows, int keys, int padded, long rowStride, int d)
    {
        int w = Vector<float>.Count;
        for (int c = 0; c < d; c += w)
        {
            int i = 0;
            for (; i + 4 <= rows; i += 4)
            {
                Vector<float> o0 = default, o1 = default, o2 = default, o3 = default;
                float* p0 = p + i * padded;
                for (int j = 0; j < keys; j++)
                {
                    var values = Vector.Load(v + j * d + c);
                    o0 = Vector.FusedMultiplyAdd(new Vector<float>(p0[j]), values, o0);
                    o1 = Vector.FusedMultiplyAdd(new Vector<float>(p0[padded + j]), values, o1);
                    o2 = Vector.FusedMultiplyAdd(new Vector<float>(p0[2 * padded + j]), values, o2);
                    o3 = Vector.FusedMultiplyAdd(new Vector<float>(p0[3 * padded + j]), values, o3);
                }
                o0.Store(output + i * rowStride + c);
                o1.Store(output + (i + 1) * rowStride + c);
                o2.Store(output + (i + 2) * rowStride + c);
                o3.Store(output + (i + 3) * rowStride + c);
            }
            for (; i < rows; i++)
            {
                Vector<float> o0 = default;
                for (int j = 0; j < keys; j++) o0 = Vector.FusedMultiplyAdd(new Vector<float>(p[i * padded + j]), Vector.Load(v + j * d + c), o0);
                o0.Store(output + i * rowStride + c);
            }
        }
    }

    /// <summary>The same product one output row at a time (a head dim that is not a whole number of vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static unsafe void TimesVByRows(float* p, float* v, float* output, int rows, int keys, int padded, long rowStride, int d)
    {
        for (int i = 0; i < rows; i++)
        {
            var dst = new Span<float>(output + i * rowStride, d);
            dst.Clear();
            for (int j = 0; j < keys; j++) TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(v + j * d, d), p[i * padded + j], dst, dst);
        }
    }
}
