using Fusion;

namespace Fusion.Runtime.Tests;

/// <summary>
/// A Swin block's attention half with a plain projection, for <see cref="WindowEpilogueTests"/>: norm1, the shift and the window
/// partition, the projection, the window reverse and the shift back, the residual add, then norm2 and a Linear. An 8 × 12 image of
/// 12 channels in 4 × 4 windows (6 windows of 16 tokens), the second block shifted by 2.
/// </summary>
public sealed class WindowProjectionBlock(int shift) : Module
{
    public readonly LayerNorm norm1 = new(12);
    public readonly Linear proj = new(12, 12);
    public readonly LayerNorm norm2 = new(12);
    public readonly Linear fc = new(12, 20);

    private readonly int _shift = shift;

    public Tensor Forward(Tensor x)
    {
        var h = F.LayerNorm(x, norm1);
        if (_shift > 0) h = F.Roll(h, -_shift, 1, 2);
        h = F.Linear(F.WindowPartition(h, 4), proj);
        h = F.WindowReverse(h, 4, 8, 12);
        if (_shift > 0) h = F.Roll(h, _shift, 1, 2);
        x = F.Add(x, h);
        return F.Add(x, F.Linear(F.Gelu(F.Linear(F.LayerNorm(x, norm2), fc)), fc2));
    }

    public readonly Linear fc2 = new(20, 12);
}

/// <summary>Two <see cref="WindowProjectionBlock"/>s as the scheduler plans them by default: the reverse, roll and residual add in the norm2 kernel.</summary>
[FusedModel]
public sealed partial class WindowProjection : Module
{
    public readonly WindowProjectionBlock[] blocks = [new(0), new(2)];

    public Tensor Forward([Shape(Dim.Batch, 8, 12, 12)] Tensor x) => blocks[1].Forward(blocks[0].Forward(x));
}

/// <summary>The same blocks with the projection's epilogue stored through the window reverse and the roll ([FusedModel(ViewsInGemmEpilogue = true)]).</summary>
[FusedModel(ViewsInGemmEpilogue = true)]
public sealed partial class WindowProjectionViews : Module
{
    public readonly WindowProjectionBlock[] blocks = [new(0), new(2)];

    public Tensor Forward([Shape(Dim.Batch, 8, 12, 12)] Tensor x) => blocks[1].Forward(blocks[0].Forward(x));
}
