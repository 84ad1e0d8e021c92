namespace Fusion.Runtime.Tests.Quantization;

/// <summary>One Linear layer at odd sizes (K = 37, N = 29), for the exact checks of the Int8 plan (CPU here, GPU in Fusion.Cuda.Tests).</summary>
[FusedModel]
public sealed partial class Int8OneLinear : Module
{
    public readonly Linear fc = new(37, 29);

    public Tensor Forward([Shape(Dim.Batch, 5, 37)] Tensor x) => F.Linear(x, fc);
}
