using Fusion;
using ViT.Model;

namespace Fusion.ViT.Tests;

/// <summary>
/// A ViT of sizes no GEMM or kernel tile divides: 36×36 images in 6×6 patches (37 tokens), embed dim 30 in 5 heads of 6,
/// MLP 120, one block, 7 classes.
/// </summary>
[FusedModel]
public sealed partial class OddViT : Module
{
    public const int ImageSize = 36, Patch = 6, EmbedDim = 30, Depth = 1, Heads = 5, Classes = 7;

    [Key("")] public readonly VisionTransformer model = new(ImageSize, Patch, EmbedDim, Depth, Heads, Classes);

    public Tensor Forward([Shape(Dim.Batch, 3, ImageSize, ImageSize)] Tensor image) => model.Forward(image);
}
