using Fusion;

namespace ViT.Model;

/// <summary>
/// ViT-B/16, timm's vit_base_patch16_224: 16×16 patches of a 224×224 RGB image (196 tokens and the class token), embed
/// dim 768, 12 blocks of 12 heads, MLP 3072, 1000 classes. Input NCHW, normalized with mean and std 0.5 (timm's setting).
/// </summary>
[FusedModel]
public sealed partial class VisionTransformerBase16 : Module
{
    public const int ImageSize = 224;
    public const int Classes = 1000;

    [Key("")] public readonly VisionTransformer model = new(ImageSize, patch: 16, dim: 768, depth: 12, heads: 12, Classes);

    public Tensor Forward([Shape(Dim.Batch, 3, ImageSize, ImageSize)] Tensor image) => model.Forward(image);
}
