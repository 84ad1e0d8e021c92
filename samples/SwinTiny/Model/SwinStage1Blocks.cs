using Fusion;

namespace SwinTiny.Model;

/// <summary>
/// The first two blocks of Swin-T's first stage (56×56 tokens of 96 channels, 3 heads, 7×7
/// windows): a regular-window block then a shifted-window one. Keys match timm's
/// <c>layers.0.blocks.{0,1}.*</c> under the prefix <c>blocks.</c>.
/// </summary>
[FusedModel]
public sealed partial class SwinStage1Blocks : Module
{
    public const int Resolution = 56;
    public const int Channels = 96;

    public readonly SwinBlock[] blocks =
    [
        new(dim: Channels, heads: 3, resolution: Resolution, window: 7, shift: 0),
        new(dim: Channels, heads: 3, resolution: Resolution, window: 7, shift: 3),
    ];

    public Tensor Forward([Shape(Dim.Batch, Resolution, Resolution, Channels)] Tensor x)
    {
        foreach (var block in blocks) x = block.Forward(x);
        return x;
    }
}
