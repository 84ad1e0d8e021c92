using Fusion;

namespace SwinTiny.Model;

/// <summary>
/// Swin-T planned with each block's output projection storing through its window reverse and shift back
/// ([FusedModel(ViewsInGemmEpilogue = true)]): the projection's GEMM adds the residual and writes the block's sum in image order,
/// and norm2 runs as a kernel of its own, where by default the reverse, the shift back, the residual add and norm2 are one kernel
/// after a GEMM that writes the windowed projection. The same weights and results as <see cref="SwinTransformerTiny"/>; here so the
/// two plans can be timed against each other (docs/perf.md).
/// </summary>
[FusedModel(ViewsInGemmEpilogue = true)]
public sealed partial class SwinTinyViewsInEpilogue : Module
{
    [Key("")] public readonly SwinTransformer model = new(96, [2, 2, 6, 2], [3, 6, 12, 24], SwinTransformerTiny.Classes, SwinTransformerTiny.ImageSize);

    public Tensor Forward([Shape(Dim.Batch, 3, SwinTransformerTiny.ImageSize, SwinTransformerTiny.ImageSize)] Tensor image) => model.Forward(image);
}
