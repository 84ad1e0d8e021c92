using Fusion.Kernels.Cpu.Fused;

namespace Fusion;

/// <summary>
/// How a fused attention (<see cref="IBackend.Attention"/>) reads q, k, v and writes its result. Separate (the default): q
/// [B, H, Tq, d], k and v [B, H, Tk, d]. <see cref="Packed"/>: one tensor qkv [B, T, 3·H·d] straight from a projection, laid out
/// (3, H, d) per token as timm's attention splits it, passed as q, k and v alike (<see cref="Heads"/> and <see cref="HeadDim"/>
/// say how it splits). <see cref="TokenMajor"/>: q [B, Tq, H·d], k and v [B, Tk, H·d], each as its own projection writes it, heads
/// side by side per token. <see cref="Merged"/>: the result is [B, Tq, H·d], heads side by side, instead of [B, H, Tq, d].
/// </summary>
public readonly record struct AttentionLayout(bool Packed = false, bool Merged = false, int Heads = 0, int HeadDim = 0, bool TokenMajor = false)
{
    public override string ToString() =>
        (Packed ? $"packed qkv ({Heads} heads of {HeadDim})" : TokenMajor ? $"q, k, v [B, T, {Heads}·{HeadDim}]" : "separate q, k, v") + (Merged ? ", heads merged" : "");
}

/// <summary>
/// The sizes and strides of one attention call, checked: every operand against the layout, with errors naming the operand. The
/// CPU twin and the CUDA launcher both address their operands through this.
/// </summary>
internal sealed record AttentionGeometry(int Batch, int Heads, int Tq, int Tk, int HeadDim, TokenStrides Q, TokenStrides K, TokenStrides V,
    TokenStrides Output, Shape OutputShape, long BiasBatch, long BiasHead)
{
    public AttentionSizes Sizes => new(Batch, Heads, Tq, Tk, HeadDim);

    /// <summary>The bias's strides as an additive score term (0 broadcasts).</summary>
    public ScoreTerm BiasTerm => new(BiasBatch, BiasHead);

    public static AttentionGeometry Of(Tensor q, Tensor k, Tensor v, Tensor? bias, AttentionLayout layout)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(k);
        ArgumentNullException.ThrowIfNull(v);
        if (q.DType is not (DType.Float32 or DType.Float16)) throw new TensorMismatchException("Attention q", "a float tensor", Describe(q));
        foreach (var (t, name) in new[] { (k, "k"), (v, "v") })
            if (t.DType != q.DType) throw new TensorMismatchException($"Attention {name}", $"{q.DType.ShortName()} like q", Describe(t));
        int batch, heads, tq, tk, d;
        TokenStrides sq, sk, sv;
        if (layout.Packed)
        {
            (heads, d) = (layout.Heads, layout.HeadDim);
            if (heads <= 0 || d <= 0) throw new FusionException($"Attention: a packed layout needs heads and head dim, not {heads} and {d}");
            if (!ReferenceEquals(k, q) || !ReferenceEquals(v, q))
                throw new FusionException("Attention: the packed layout reads q, k and v from one qkv tensor; pass it as q, k and v");
            if (q.Rank != 3 || q.Shape[2] != 3 * heads * d)
                throw new TensorMismatchException("Attention qkv", $"[B, T, {3 * heads * d}] (3 × {heads} heads × {d})", Describe(q));
            (batch, tq, tk) = (q.Shape[0], q.Shape[1], q.Shape[1]);
            long token = 3L * heads * d, image = tq * token;
            sq = new TokenStrides(0, image, d, token);
            sk = new TokenStrides((long)heads * d, image, d, token);
            sv = new TokenStrides(2L * heads * d, image, d, token);
        }
        else if (layout.TokenMajor)
        {
            (heads, d) = (layout.Heads, layout.HeadDim);
            if (heads <= 0 || d <= 0) throw new FusionException($"Attention: a token-major layout needs heads and head dim, not {heads} and {d}");
            if (q.Rank != 3 || q.Shape[2] != heads * d) throw new TensorMismatchException("Attention q", $"[B, Tq, {heads * d}] ({heads} heads × {d})", Describe(q));
            (batch, tq) = (q.Shape[0], q.Shape[1]);
            tk = k.Rank == 3 ? k.Shape[1] : -1;
            var expected = new Shape(batch, tk, heads * d);
            if (k.Rank != 3 || k.Shape != expected) throw new TensorMismatchException("Attention k", $"[{batch}, Tk, {heads * d}] like q", Describe(k));
            if (v.Shape != expected) throw new TensorMismatchException("Attention v", $"{expected} like k", Describe(v));
            sq = new TokenStrides(0, (long)tq * heads * d, d, (long)heads * d);
            sk = new TokenStrides(0, (long)tk * heads * d, d, (long)heads * d);
            sv = sk;
        }
        else
        {
            if (q.Rank != 4) throw new TensorMismatchException("Attention q", "[B, H, Tq, d]", Describe(q));
            (batch, heads, tq, d) = (q.Shape[0], q.Shape[1], q.Shape[2], q.Shape[3]);
            tk = k.Rank == 4 ? k.Shape[2] : -1;
            var expected = new Shape(batch, heads, tk, d);
            if (k.Rank != 4 || k.Shape != expected) throw new TensorMismatchException("Attention k", $"[{batch}, {heads}, Tk, {d}] like q", Describe(k));
            if (v.Shape != expected) throw new TensorMismatchException("Attention v", $"{expected} like k", Describe(v));
            sq = Contiguous(heads, tq, d);
            sk = Contiguous(heads, tk, d);
            sv = Contiguous(heads, tk, d);
        }
        var output = layout.Merged
            ? new TokenStrides(0, (long)tq * heads * d, d, (long)heads * d)
            : Contiguous(heads, tq, d);
        var outputShape = layout.Merged ? new Shape(batch, tq, heads * d) : new Shape(batch, heads, tq, d);
        long biasBatch = 0, biasHead = 0;
        if (bias is not null)
        {
            int r = bias.Rank;
            bool fits = r is >= 2 and <= 4 && bias.DType == q.DType && bias.Shape[-2] == tq && bias.Shape[-1] == tk
                && (r < 3 || bias.Shape[-3] == heads || bias.Shape[-3] == 1) && (r < 4 || bias.Shape[0] == batch || bias.Shape[0] == 1);
            if (!fits)
                throw new TensorMismatchException("Attention bias", $"{q.DType.ShortName()}[(B|1,) (H|1,) {tq}, {tk}] for q of {batch} × {heads} heads", Describe(bias));
            biasHead = r >= 3 && bias.Shape[-3] > 1 ? (long)tq * tk : 0;
            biasBatch = r == 4 && bias.Shape[0] > 1 ? (long)bias.Shape[1] * tq * tk : 0;
        }
        return new AttentionGeometry(batch, heads, tq, tk, d, sq, sk, sv, output, outputShape, biasBatch, biasHead);
    }

    /// <summary>A [B, H, T, d] tensor's strides.</summary>
    private static TokenStrides Contiguous(int heads, int tokens, int d) => new(0, (long)heads * tokens * d, (long)tokens * d, d);

    private static string Describe(Tensor t) => $"{t.DType.ShortName()}{t.Shape}";
}
