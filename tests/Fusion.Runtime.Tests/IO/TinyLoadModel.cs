namespace Fusion.Runtime.Tests.IO;

/// <summary>A compiled model with a few parameters (fc.weight [4, 6], fc.bias [4], norm.weight [4], norm.bias [4]) to load weights into.</summary>
[FusedModel]
public sealed partial class TinyLoadModel : Module
{
    public readonly Linear fc = new(6, 4);
    public readonly LayerNorm norm = new(4);

    public Tensor Forward([Shape(Dim.Batch, 6)] Tensor x) => F.LayerNorm(F.Linear(x, fc), norm);
}
