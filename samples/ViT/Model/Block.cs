using Fusion;

namespace ViT.Model;

/// <summary>timm's ViT Block, pre-norm: x + attn(norm1(x)), then x + mlp(norm2(x)). LayerNorm eps is 1e-6, as in timm's ViT.</summary>
public sealed class Block(int dim, int heads, int tokens, int mlpRatio = 4) : Module
{
    public readonly LayerNorm norm1 = new(dim, eps: VisionTransformer.NormEps);
    public readonly Attention attn = new(dim, heads, tokens);
    public readonly LayerNorm norm2 = new(dim, eps: VisionTransformer.NormEps);
    public readonly Mlp mlp = new(dim, dim * mlpRatio);

    public Tensor Forward(Tensor x)
    {
        x = F.Add(x, attn.Forward(F.LayerNorm(x, norm1)));
        return F.Add(x, mlp.Forward(F.LayerNorm(x, norm2)));
    }
}
