namespace Fusion.Run.Tests.Models;

/// <summary>
/// A compiled model whose GEMM weights are not multiples of 8 (fc1.weight [45, 30], fc2.weight [30, 45]), so a
/// conversion pads them and the loader must crop them back; norm.* are the usual keep-list candidates.
/// </summary>
[FusedModel]
public sealed partial class OddMlp : Module
{
    public const int Width = 30;

    public readonly Linear fc1 = new(Width, 45);
    public readonly Linear fc2 = new(45, Width);
    public readonly LayerNorm norm = new(Width);

    public Tensor Forward([Shape(Dim.Batch, Width)] Tensor x) => F.LayerNorm(F.Linear(F.Gelu(F.Linear(x, fc1)), fc2), norm);
}
