using Fusion;
using SwinTiny.Model;

namespace Fusion.SwinTiny.Tests;

/// <summary>
/// x + a small learned offset, on values near 1: in f16 (ulp 2⁻¹⁰ near 1) most of the offset is rounded away, in
/// f32 it survives, so the result shows in which type the Add ran. This one keeps F.Add in f32.
/// </summary>
[FusedModel(KeepFloat32 = new[] { "F.Add" })]
public sealed partial class KeptOffset : Module
{
    public readonly Parameter offset = new(16);

    public Tensor Forward([Shape(Dim.Batch, 16)] Tensor x) => F.Add(x, F.Value(offset));
}

/// <summary><see cref="KeptOffset"/> without the keep-list: the Add runs in f16 under Precision.Half.</summary>
[FusedModel]
public sealed partial class HalfOffset : Module
{
    public readonly Parameter offset = new(16);

    public Tensor Forward([Shape(Dim.Batch, 16)] Tensor x) => F.Add(x, F.Value(offset));
}

/// <summary><see cref="SwinMini"/> with its classifier head kept in f32: the average pool then writes f32 for it.</summary>
[FusedModel(KeepFloat32 = new[] { "head" })]
public sealed partial class SwinMiniKeepHead : Module
{
    [Key("")] public readonly SwinTransformer model = new(24, [2, 2, 2, 2], [1, 2, 4, 8], 10);

    public Tensor Forward([Shape(Dim.Batch, 3, 224, 224)] Tensor image) => model.Forward(image);
}
