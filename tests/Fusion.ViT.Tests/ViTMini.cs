using Fusion;
using ViT.Model;

namespace Fusion.ViT.Tests;

/// <summary>
/// The parity fixture's model (samples/ViT/fixtures/vit-mini, made by export_timm.py --config vit-mini): ViT-B/16's
/// structure at 32×32 images in 8×8 patches (16 patches and the class token), embed dim 64, 2 blocks of 4 heads, 10 classes.
/// </summary>
[FusedModel]
public sealed partial class ViTMini : Module
{
    public const int ImageSize = 32, Patch = 8, EmbedDim = 64, Depth = 2, Heads = 4, Classes = 10;

    [Key("")] public readonly VisionTransformer model = new(ImageSize, Patch, EmbedDim, Depth, Heads, Classes);

    public Tensor Forward([Shape(Dim.Batch, 3, ImageSize, ImageSize)] Tensor image) => model.Forward(image);
}
