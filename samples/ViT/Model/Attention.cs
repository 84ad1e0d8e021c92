using System;
using Fusion;

namespace ViT.Model;

/// <summary>
/// timm's Attention: global multi-head self-attention over all tokens, written as timm's unfused path does it: one qkv
/// projection split into heads, q·scale·kᵀ, softmax, ·v, heads merged, output projection. [B, T, dim] in and out.
/// </summary>
public sealed class Attention(int dim, int heads, int tokens) : Module
{
    public readonly Linear qkv = new(dim, 3 * dim);
    public readonly Linear proj = new(dim, dim);

    private readonly int _dim = dim;
    private readonly int _heads = heads;
    private readonly int _tokens = tokens;
    private readonly float _scale = 1f / MathF.Sqrt(dim / heads);

    public Tensor Forward(Tensor x)
    {
        var qkvOut = F.Linear(x, qkv);
        var split = F.Reshape(qkvOut, -1, _tokens, 3, _heads, _dim / _heads);
        split = F.Permute(split, 2, 0, 3, 1, 4); // [3, B, heads, T, d]
        var q = F.Select(split, 0, 0);
        var k = F.Select(split, 0, 1);
        var v = F.Select(split, 0, 2);

        var scores = F.MatMul(F.Mul(q, _scale), k, transposeB: true);
        var weights = F.Softmax(scores);

        var o = F.MatMul(weights, v);
        o = F.Permute(o, 0, 2, 1, 3);
        o = F.Reshape(o, -1, _tokens, _dim);
        return F.Linear(o, proj);
    }
}
