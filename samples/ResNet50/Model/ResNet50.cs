using Fusion;

namespace ResNetSample.Model;

/// <summary>
/// ResNet-50, torchvision's resnet50 (v1.5): bottleneck stages of 3, 4, 6 and 3 blocks, widths 64/128/256/512 (outputs
/// 256…2048), 1000 classes; 224×224 RGB input, NCHW, ImageNet-normalized.
/// </summary>
[FusedModel]
public sealed partial class ResNet50 : Module
{
    public const int ImageSize = 224;
    public const int Classes = 1000;

    [Key("")] public readonly ResNet model = new(blocks: [3, 4, 6, 3], widths: [64, 128, 256, 512], Classes);

    public Tensor Forward([Shape(Dim.Batch, 3, ImageSize, ImageSize)] Tensor image) => model.Forward(image);
}
