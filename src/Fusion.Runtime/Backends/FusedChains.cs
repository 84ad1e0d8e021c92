namespace Fusion;

/// <summary>
/// The window-attention template as the chain of unfused operators it replaces, run through any backend. The CUDA backend runs
/// it this way on float32 operands (the template is fp16), so a model compiled for fp16 also runs in float32 there, through
/// cuBLASLt and backend_ops.cu. The semantics are those the template implements (docs/kernels.md): q scaled before q·kᵀ,
/// window i masked by mask[i mod nW].
/// </summary>
internal static class FusedChains
{
    /// <summary>
    /// softmax((q·scale)·kᵀ + bias + mask)·v merged over heads, from qkv laid out (heads, 3, d) per token (the layout
    /// QkvRelayout gives the projection).
    /// </summary>
    public static Tensor WindowAttention(IBackend be, Tensor qkv, Tensor bias, Tensor? mask, int heads, float scale)
    {
        ArgumentNullException.ThrowIfNull(qkv);
        if (heads <= 0 || qkv.Rank != 3 || qkv.Shape[2] % (3 * heads) != 0)
            throw new TensorMismatchException("WindowAttention qkv", $"[B·nW, N, 3·{heads}·d]", $"{qkv.DType.ShortName()}{qkv.Shape}");
        int windows = qkv.Shape[0], n = qkv.Shape[1], d = qkv.Shape[2] / (3 * heads);
        using var chain = new Chain();
        // [W, N, heads, 3, d] → [3, W, heads, N, d]: q, k and v of every (window, head).
        var parts = chain.Keep(be.Permute(chain.Keep(be.Reshape(qkv, new Shape(windows, n, heads, 3, d))), [3, 0, 2, 1, 4]));
        var q = chain.Keep(be.Mul(chain.Keep(be.Select(parts, 0, 0)), scale));
        var scores = chain.Keep(be.Add(chain.Keep(be.MatMul(q, chain.Keep(be.Select(parts, 0, 1)), transposeB: true)), bias));
        if (mask is not null)
        {
            int perImage = mask.Shape[0];
            if (perImage == 0 || windows % perImage != 0)
                throw new TensorMismatchException("WindowAttention mask", $"[nW, {n}, {n}] whose first dim divides the {windows} windows of qkv", $"{mask.DType.ShortName()}{mask.Shape}");
            var grouped = chain.Keep(be.Add(
                chain.Keep(be.Reshape(scores, new Shape(windows / perImage, perImage, heads, n, n))),
                chain.Keep(be.Reshape(mask, new Shape(perImage, 1, n, n)))));
            scores = chain.Keep(be.Reshape(grouped, new Shape(windows, heads, n, n)));
        }
        var attended = chain.Keep(be.MatMul(chain.Keep(be.Softmax(scores)), chain.Keep(be.Select(parts, 0, 2)), transposeB: false));
        return chain.Result(be.Reshape(chain.Keep(be.Permute(attended, [0, 2, 1, 3])), new Shape(windows, n, heads * d)));
    }

    /// <summary>
    /// softmax(q·kᵀ·scale + bias, causal)·v as the operators it replaces, for any layout of <see cref="AttentionLayout"/>: a packed
    /// qkv split by Reshape/Permute/Select, token-major q, k, v by Reshape/Permute, the causal mask a [Tq, Tk] table of 0 and −∞ (keys j > i), heads merged by
    /// Permute/Reshape.
    /// </summary>
    public static Tensor Attention(IBackend be, Tensor q, Tensor k, Tensor v, Tensor? bias, AttentionLayout layout, float scale, bool causal)
    {
        var g = AttentionGeometry.Of(q, k, v, bias, layout);
        using var chain = new Chain();
        if (layout.Packed)
        {
            var parts = chain.Keep(be.Permute(chain.Keep(be.Reshape(q, new Shape(g.Batch, g.Tq, 3, g.Heads, g.HeadDim))), [2, 0, 3, 1, 4]));
            (q, k, v) = (chain.Keep(be.Select(parts, 0, 0)), chain.Keep(be.Select(parts, 0, 1)), chain.Keep(be.Select(parts, 0, 2)));
        }
        else if (layout.TokenMajor)
        {
            Tensor Heads(Tensor t, int tokens) => chain.Keep(be.Permute(chain.Keep(be.Reshape(t, new Shape(g.Batch, tokens, g.Heads, g.HeadDim))), [0, 2, 1, 3]));
            (q, k, v) = (Heads(q, g.Tq), Heads(k, g.Tk), Heads(v, g.Tk));
        }
        var scores = chain.Keep(be.MatMul(chain.Keep(be.Mul(q, scale)), k, transposeB: true));
        if (bias is not null) scores = chain.Keep(be.Add(scores, bias));
        if (causal)
        {
            var mask = new float[(long)g.Tq * g.Tk];
            for (int i = 0; i < g.Tq; i++)
                for (int j = i + 1; j < g.Tk; j++) mask[(long)i * g.Tk + j] = float.NegativeInfinity;
            using var host = CpuTensor.FromArray(mask, g.Tq, g.Tk);
            var table = chain.Keep(be.FromHost(host));
            scores = chain.Keep(be.Add(scores, q.DType == DType.Float32 ? table : chain.Keep(be.Cast(table, q.DType))));
        }
        var attended = chain.Keep(be.MatMul(chain.Keep(be.Softmax(scores)), v, transposeB: false));
        if (!layout.Merged) return chain.Result(attended);
        return chain.Result(be.Reshape(chain.Keep(be.Permute(attended, [0, 2, 1, 3])), g.OutputShape));
    }

    /// <summary>The intermediates of one chain, disposed together when it ends (or throws).</summary>
    private sealed class Chain : IDisposable
    {
        private readonly List<Tensor> _owned = [];

        public Tensor Keep(Tensor t)
        {
            _owned.Add(t);
            return t;
        }

        /// <summary>The chain's result, which the caller owns (taken off the list if it was kept as an intermediate).</summary>
        public Tensor Result(Tensor t)
        {
            _owned.Remove(t);
            return t;
        }

        public void Dispose()
        {
            foreach (var t in _owned) t.Dispose();
        }
    }
}
