using Fusion;

namespace Fusion.Runtime.Tests;

/// <summary>
/// Attention as users write it, for <see cref="CompiledAttentionTests"/>: a packed projection whose attention is written out
/// with a mask parameter (the pattern fuses it, split and merge included), and separate projections into F.Attention with a
/// bias and causal masking. 13 tokens, 3 heads of 8.
/// </summary>
[FusedModel]
public sealed partial class AttentionModel : Module
{
    public readonly Linear qkv = new(24, 72);
    public readonly Parameter mask = new(13, 13);
    public readonly Linear wq = new(24, 24);
    public readonly Linear wk = new(24, 24);
    public readonly Linear wv = new(24, 24);
    public readonly Parameter bias = new(3, 13, 13);

    public Tensor Forward([Shape(Dim.Batch, 13, 24)] Tensor x)
    {
        var split = F.Permute(F.Reshape(F.Linear(x, qkv), -1, 13, 3, 3, 8), 2, 0, 3, 1, 4);
        var q = F.Select(split, 0, 0);
        var k = F.Select(split, 0, 1);
        var v = F.Select(split, 0, 2);
        var scores = F.Add(F.Div(F.MatMul(q, k, transposeB: true), 2.8284271f), mask);
        var written = F.Reshape(F.Permute(F.MatMul(F.Softmax(scores), v), 0, 2, 1, 3), -1, 13, 24);
        x = F.Add(x, written);
        var q2 = F.Permute(F.Reshape(F.Linear(x, wq), -1, 13, 3, 8), 0, 2, 1, 3);
        var k2 = F.Permute(F.Reshape(F.Linear(x, wk), -1, 13, 3, 8), 0, 2, 1, 3);
        var v2 = F.Permute(F.Reshape(F.Linear(x, wv), -1, 13, 3, 8), 0, 2, 1, 3);
        var direct = F.Attention(q2, k2, v2, bias, 0.35355339f, causal: true);
        return F.Add(x, F.Reshape(F.Permute(direct, 0, 2, 1, 3), -1, 13, 24));
    }
}
