using Fusion;

namespace Fusion.Cuda.Tests;

/// <summary>
/// Flash attentions as a model writes them, for <see cref="IlgpuAttentionTests"/>: separate projections into a causal
/// <see cref="F.Attention(Tensor, Tensor, Tensor, float, bool)"/> of 2 heads of 16 over 70 tokens (two key tiles, the second
/// straddling the end and the diagonal), whose merge and residual add become the kernel's generated epilogue.
/// </summary>
[FusedModel]
public sealed partial class CausalAttentionResidual : Module
{
    public readonly Linear wq = new(32, 32);
    public readonly Linear wk = new(32, 32);
    public readonly Linear wv = new(32, 32);

    public Tensor Forward([Shape(Dim.Batch, 70, 32)] Tensor x)
    {
        var q = F.Permute(F.Reshape(F.Linear(x, wq), -1, 70, 2, 16), 0, 2, 1, 3);
        var k = F.Permute(F.Reshape(F.Linear(x, wk), -1, 70, 2, 16), 0, 2, 1, 3);
        var v = F.Permute(F.Reshape(F.Linear(x, wv), -1, 70, 2, 16), 0, 2, 1, 3);
        var attention = F.Attention(q, k, v, 0.25f, causal: true);
        return F.Add(x, F.Reshape(F.Permute(attention, 0, 2, 1, 3), -1, 70, 32));
    }
}
