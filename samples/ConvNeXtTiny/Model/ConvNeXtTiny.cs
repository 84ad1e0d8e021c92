using Fusion;

namespace ConvNeXtSample.Model;

/// <summary>
/// ConvNeXt-T, timm's convnext_tiny: 4×4 patch stem, stages of 3, 3, 9 and 3 blocks at widths 96/192/384/768, 7×7
/// depthwise convolutions, 1000 classes; 224×224 RGB input, NCHW, ImageNet-normalized.
/// </summary>
[FusedModel]
public sealed partial class ConvNeXtTiny : Module
{
    public const int ImageSize = 224;
    public const int Classes = 1000;

    [Key("")] public readonly ConvNeXt model = new(depths: [3, 3, 9, 3], dims: [96, 192, 384, 768], Classes);

    public Tensor Forward([Shape(Dim.Batch, 3, ImageSize, ImageSize)] Tensor image) => model.Forward(image);
}
