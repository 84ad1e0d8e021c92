using Fusion;

namespace ConvNeXtSample.Model;

/// <summary>
/// timm's ConvNeXtStage: a downsample where the width or the resolution changes (every stage but the first in
/// ConvNeXt), then <paramref name="depth"/> blocks. Keys stages.N.downsample.*, stages.N.blocks.M.*.
/// </summary>
public sealed class ConvNeXtStage(int inDim, int dim, int depth, int stride, int kernel) : Module
{
    public readonly Downsample? downsample = inDim != dim || stride > 1 ? new Downsample(inDim, dim, stride) : null;
    public readonly ConvNeXtBlock[] blocks = Repeat(depth, _ => new ConvNeXtBlock(dim, kernel));

    private readonly bool _downsample = inDim != dim || stride > 1;

    public Tensor Forward(Tensor x)
    {
        if (_downsample) x = downsample!.Forward(x);
        foreach (var block in blocks) x = block.Forward(x);
        return x;
    }
}
