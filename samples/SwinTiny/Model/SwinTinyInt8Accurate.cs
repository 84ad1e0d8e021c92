using Fusion;

namespace SwinTiny.Model;

/// <summary>
/// Swin-T with FasterTransformer's accurate int8 policy: every block's fc2 and each patch merging's reduction stay fp16 in the
/// Int8 plan (the layers whose inputs, after a GELU or a 4× channel merge, quantize worst); the other Linears run in int8.
/// </summary>
[FusedModel(KeepHalfInInt8 = new[] { "layers.*.blocks.*.mlp.fc2", "layers.*.downsample.reduction" })]
public sealed partial class SwinTinyInt8Accurate : Module
{
    [Key("")] public readonly SwinTransformer model = new(96, [2, 2, 6, 2], [3, 6, 12, 24], SwinTransformerTiny.Classes, SwinTransformerTiny.ImageSize);

    public Tensor Forward([Shape(Dim.Batch, 3, SwinTransformerTiny.ImageSize, SwinTransformerTiny.ImageSize)] Tensor image) => model.Forward(image);
}
