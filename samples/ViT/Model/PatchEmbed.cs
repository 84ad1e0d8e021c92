using Fusion;

namespace ViT.Model;

/// <summary>
/// timm's PatchEmbed for ViT: a patch×patch convolution of stride patch (a GEMM over patches), its grid flattened row by
/// row into tokens (timm's flatten(2).transpose(1, 2) of the NCHW output); no norm. NCHW image in, [B, patches, dim] out.
/// </summary>
public sealed class PatchEmbed(int inChannels, int embedDim, int patch) : Module
{
    public readonly PatchConv proj = new(inChannels, embedDim, patch);

    public Tensor Forward(Tensor image) => F.Flatten(F.PatchConv(image, proj), 1, 2); // [B, H/p, W/p, dim] → [B, H/p·W/p, dim]
}
