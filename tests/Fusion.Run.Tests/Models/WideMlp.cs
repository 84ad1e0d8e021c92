namespace Fusion.Run.Tests.Models;

/// <summary>
/// OddMlp's layers at sizes cuBLASLt's FP8 product takes (K a multiple of 16, N of 8: fc1.weight [64, 32], fc2.weight [32, 64]),
/// so its Fp8 plan quantizes both Linears.
/// </summary>
[FusedModel]
public sealed partial class WideMlp : Module
{
    public const int Width = 32;

    public readonly Linear fc1 = new(Width, 64);
    public readonly Linear fc2 = new(64, Width);
    public readonly LayerNorm norm = new(Width);

    public Tensor Forward([Shape(Dim.Batch, Width)] Tensor x) => F.LayerNorm(F.Linear(F.Gelu(F.Linear(x, fc1)), fc2), norm);
}
