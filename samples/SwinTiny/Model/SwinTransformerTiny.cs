using Fusion;

namespace SwinTiny.Model;

/// <summary>
/// Swin-T, timm's swin_tiny_patch4_window7_224: patch 4, window 7, embed dim 96, depths 2/2/6/2,
/// heads 3/6/12/24, 224×224 RGB input (NCHW, ImageNet-normalized), 1000 classes.
/// </summary>
[FusedModel]
public sealed partial class SwinTransformerTiny : Module
{
    public const int ImageSize = 224;
    public const int Classes = 1000;

    [Key("")] public readonly SwinTransformer model = new(96, [2, 2, 6, 2], [3, 6, 12, 24], Classes, ImageSize);

    public Tensor Forward([Shape(Dim.Batch, 3, ImageSize, ImageSize)] Tensor image) => model.Forward(image);
}
