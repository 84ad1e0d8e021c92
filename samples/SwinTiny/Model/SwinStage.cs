using Fusion;

namespace SwinTiny.Model;

/// <summary>
/// timm's SwinTransformerStage: an optional patch merging at the start (every stage but the first),
/// then blocks alternating regular and shifted windows. Where the image is no larger than a window,
/// timm uses one window and no shift; so does this.
/// </summary>
public sealed class SwinStage(int inDim, int dim, int depth, int heads, int resolution, int window) : Module
{
    public readonly PatchMerging? downsample = inDim != dim ? new PatchMerging(inDim) : null;
    public readonly SwinBlock[] blocks = Repeat(depth, i => new SwinBlock(
        dim, heads, resolution,
        window: resolution < window ? resolution : window,
        shift: i % 2 == 1 && resolution > window ? window / 2 : 0));

    private readonly bool _downsample = inDim != dim;

    public Tensor Forward(Tensor x)
    {
        if (_downsample) x = downsample!.Forward(x);
        foreach (var block in blocks) x = block.Forward(x);
        return x;
    }
}
