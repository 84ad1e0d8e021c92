using Fusion;

namespace SwinTiny.Model;

/// <summary>
/// timm's SwinTransformer (1.x layout, NHWC between stages): patch embedding, four stages whose width
/// doubles and resolution halves, final LayerNorm, average over the tokens, classifier head. Member
/// names follow timm's state-dict keys (patch_embed.*, layers.N.downsample.*, layers.N.blocks.M.*, norm.*, head.fc.*).
/// </summary>
public sealed class SwinTransformer(int embedDim, int[] depths, int[] heads, int classes, int imageSize = 224, int patch = 4, int window = 7) : Module
{
    public readonly PatchEmbed patch_embed = new(3, embedDim, patch);
    public readonly SwinStage[] layers = Repeat(4, i => new SwinStage(
        inDim: i == 0 ? embedDim : embedDim << (i - 1),
        dim: embedDim << i,
        depth: depths[i],
        heads: heads[i],
        resolution: imageSize / patch >> i,
        window: window));
    public readonly LayerNorm norm = new(embedDim << 3);
    [Key("head.fc")] public readonly Linear head = new(embedDim << 3, classes);

    public Tensor Forward(Tensor image)
    {
        var x = patch_embed.Forward(image);
        foreach (var stage in layers) x = stage.Forward(x);
        x = F.LayerNorm(x, norm);
        x = F.Mean(x, 1, 2);
        return F.Linear(x, head);
    }
}
