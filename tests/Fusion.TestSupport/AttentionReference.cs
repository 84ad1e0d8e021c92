namespace Fusion.Testing;

/// <summary>
/// Scaled dot-product attention in float64, written plainly from its definition (independent of the operator's descriptor),
/// and the packed / merged layouts the fused kernels read and write, for the attention tests on every backend.
/// </summary>
public static class AttentionReference
{
    /// <summary>
    /// softmax(q·kᵀ·scale + bias, causal)·v: q [B, H, Tq, d], k and v [B, H, Tk, d], bias broadcast from its trailing [Tq, Tk]
    /// (leading dims of 1 or B, H) → [B, H, Tq, d]. Causal keeps key j for query i when j ≤ i; a row with no key left is 0.
    /// </summary>
    public static RefTensor Compute(RefTensor q, RefTensor k, RefTensor v, RefTensor? bias, double scale, bool causal)
    {
        int batch = q.Shape[0], heads = q.Shape[1], tq = q.Shape[2], d = q.Shape[3], tk = k.Shape[2];
        var y = RefTensor.Derived([batch, heads, tq, d], q);
        var p = new double[tk];
        // Flat offsets: the indexer allocates per access, too slow for T in the hundreds.
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
            {
                int qHead = (b * heads + h) * tq * d, kHead = (b * heads + h) * tk * d;
                for (int i = 0; i < tq; i++)
                {
                    double top = double.NegativeInfinity;
                    for (int j = 0; j < tk; j++)
                    {
                        double s = 0;
                        for (int e = 0; e < d; e++) s += q.Data[qHead + i * d + e] * k.Data[kHead + j * d + e];
                        s = s * scale + (bias is null ? 0 : bias.Data[BiasOffset(bias, b, h, i, j)]);
                        p[j] = causal && j > i ? double.NegativeInfinity : s;
                        top = Math.Max(top, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < tk; j++) sum += p[j] = double.IsNegativeInfinity(p[j]) ? 0 : Math.Exp(p[j] - top);
                    for (int e = 0; e < d; e++)
                    {
                        double o = 0;
                        for (int j = 0; j < tk; j++) o += p[j] * v.Data[kHead + j * d + e];
                        y.Data[qHead + i * d + e] = sum > 0 ? o / sum : 0;
                    }
                }
            }
        return y;
    }

    /// <summary>The element of a broadcast bias for (b, h, i, j): leading dims of size 1 broadcast.</summary>
    private static int BiasOffset(RefTensor bias, int b, int h, int i, int j)
    {
        int r = bias.Rank, tq = bias.Shape[r - 2], tk = bias.Shape[r - 1];
        int hh = r >= 3 && bias.Shape[r - 3] > 1 ? h : 0, bb = r == 4 && bias.Shape[0] > 1 ? b : 0;
        int heads = r >= 3 ? bias.Shape[r - 3] : 1;
        return ((bb * heads + hh) * tq + i) * tk + j;
    }

    /// <summary>q, k, v [B, H, T, d] as one projection output qkv [B, T, 3·H·d], laid out (3, H, d) per token as timm's.</summary>
    public static RefTensor Pack(RefTensor q, RefTensor k, RefTensor v)
    {
        int batch = q.Shape[0], heads = q.Shape[1], tokens = q.Shape[2], d = q.Shape[3];
        var qkv = RefTensor.Derived([batch, tokens, 3 * heads * d], q);
        var parts = new[] { q, k, v };
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < tokens; t++)
                for (int s = 0; s < 3; s++)
                    for (int h = 0; h < heads; h++)
                        for (int e = 0; e < d; e++) qkv[b, t, (s * heads + h) * d + e] = parts[s][b, h, t, e];
        return qkv;
    }

    /// <summary>o [B, H, T, d] with heads merged: [B, T, H·d].</summary>
    public static RefTensor Merge(RefTensor o)
    {
        int batch = o.Shape[0], heads = o.Shape[1], tokens = o.Shape[2], d = o.Shape[3];
        var merged = RefTensor.Derived([batch, tokens, heads * d], o);
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int t = 0; t < tokens; t++)
                    for (int e = 0; e < d; e++) merged[b, t, h * d + e] = o[b, h, t, e];
        return merged;
    }
}
