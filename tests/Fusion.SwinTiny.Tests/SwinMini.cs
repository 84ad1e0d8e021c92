using Fusion;
using SwinTiny.Model;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// The committed parity fixture's model: Swin-T's structure (patch 4, window 7, four stages with shifted
/// windows and patch merging) at embed dim 24, depths 2/2/2/2, heads 1/2/4/8, 10 classes, small enough for CI.
/// </summary>
[FusedModel]
public sealed partial class SwinMini : Module
{
    [Key("")] public readonly SwinTransformer model = new(24, [2, 2, 2, 2], [1, 2, 4, 8], 10);

    public Tensor Forward([Shape(Dim.Batch, 3, 224, 224)] Tensor image) => model.Forward(image);
}
