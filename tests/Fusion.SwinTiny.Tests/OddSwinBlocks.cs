using Fusion;
using SwinTiny.Model;

namespace Fusion.SwinTiny.Tests;

/// <summary>The sample's Swin block at sizes that are multiples of nothing useful: 30 channels, 5 heads of 6, 14×14 tokens.</summary>
[FusedModel]
public sealed partial class OddSwinBlocks : Module
{
    public readonly SwinBlock[] blocks =
    [
        new(dim: 30, heads: 5, resolution: 14, window: 7, shift: 0, mlpRatio: 3),
        new(dim: 30, heads: 5, resolution: 14, window: 7, shift: 3, mlpRatio: 3),
    ];

    public Tensor Forward([Shape(Dim.Batch, 14, 14, 30)] Tensor x)
    {
        foreach (var block in blocks) x = block.Forward(x);
        return x;
    }
}
