using ConvNeXtSample.Model;
using Fusion;

namespace Fusion.ConvNets.Tests;

/// <summary>
/// ConvNeXt-T's structure, small (samples/ConvNeXtTiny/python/export_timm.py --config mini builds the same in timm): 64×64
/// images, 4×4 stem, stages of 2, 1, 2 and 1 blocks at widths 24/40/56/72, 7×7 depthwise convolutions, 10 classes. The
/// feature maps are 16, 8, 4 and 2 wide, so the convolutions' padding of 3 covers most of each.
/// </summary>
[FusedModel]
public sealed partial class ConvNeXtMini : Module
{
    public const int ImageSize = 64, Classes = 10;

    [Key("")] public readonly ConvNeXt model = new(depths: [2, 1, 2, 1], dims: [24, 40, 56, 72], Classes);

    public Tensor Forward([Shape(Dim.Batch, 3, ImageSize, ImageSize)] Tensor image) => model.Forward(image);
}
