using Fusion;
using ResNetSample.Model;

namespace Fusion.ConvNets.Tests;

/// <summary>
/// ResNet-50's structure, small (samples/ResNet50/python/export_torchvision.py --config mini builds the same in torchvision):
/// 40×40 images, stem width 16, bottleneck stages of 2, 1, 2 and 1 blocks at widths 8/16/24/32 (outputs 32…128), 10
/// classes. The feature maps are 20, 10, 5, 3 and 2 wide, so every convolution and pool meets its padding at odd sizes;
/// stage 1 projects its shortcut at stride 1 (16 → 32 channels), stages 2–4 at stride 2, and two blocks add the input as it is.
/// </summary>
[FusedModel]
public sealed partial class ResNetMini : Module
{
    public const int ImageSize = 40, StemWidth = 16, Classes = 10;

    [Key("")] public readonly ResNet model = new(blocks: [2, 1, 2, 1], widths: [8, 16, 24, 32], Classes, StemWidth);

    public Tensor Forward([Shape(Dim.Batch, 3, ImageSize, ImageSize)] Tensor image) => model.Forward(image);
}
