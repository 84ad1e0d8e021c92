using Fusion;

namespace ViT.Model;

/// <summary>
/// timm's VisionTransformer with its defaults (class token, learned position embedding over the class token and the
/// patches, pre-norm blocks, final norm, the class token's features into the head). Member names follow timm's
/// state-dict keys: cls_token, pos_embed, patch_embed.proj.*, blocks.N.*, norm.*, head.*.
/// </summary>
public sealed class VisionTransformer(int imageSize, int patch, int dim, int depth, int heads, int classes, int mlpRatio = 4) : Module
{
    /// <summary>timm's ViT LayerNorm epsilon (PyTorch's default is 1e-5).</summary>
    public const float NormEps = 1e-6f;

    public readonly PatchEmbed patch_embed = new(3, dim, patch);
    public readonly Parameter cls_token = new(1, 1, dim);
    public readonly Parameter pos_embed = new(1, (imageSize / patch) * (imageSize / patch) + 1, dim);
    public readonly Block[] blocks = Repeat(depth, _ => new Block(dim, heads, (imageSize / patch) * (imageSize / patch) + 1, mlpRatio));
    public readonly LayerNorm norm = new(dim, eps: NormEps);
    public readonly Linear head = new(dim, classes);

    public Tensor Forward(Tensor image)
    {
        var patches = patch_embed.Forward(image);
        // The class token repeated over the batch: expand_as a [B, 1, dim] view of the patches (only its shape is read).
        var cls = F.ExpandAs(cls_token, F.Narrow(patches, 1, 0, 1));
        var x = F.Add(F.Concat(1, cls, patches), pos_embed);
        foreach (var block in blocks) x = block.Forward(x);
        x = F.LayerNorm(x, norm);
        return F.Linear(F.Select(x, 1, 0), head);
    }
}
