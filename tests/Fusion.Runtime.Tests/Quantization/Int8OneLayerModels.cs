namespace Fusion.Runtime.Tests.Quantization;

/// <summary>One Linear layer at odd sizes (K = 37, N = 29), for the exact checks of the Int8 plan (CPU here, GPU in Fusion.Cuda.Tests).</summary>
[FusedModel]
public sealed partial class Int8OneLinear : Module
{
    public readonly Linear fc = new(37, 29);

    public Tensor Forward([Shape(Dim.Batch, 5, 37)] Tensor x) => F.Linear(x, fc);
}

/// <summary>One strided 3×3 convolution over a channels-last input (its NCHW view taken in Forward), for the exact check of the Int8 plan's implicit int8 convolution.</summary>
[FusedModel]
public sealed partial class Int8OneConv : Module
{
    public readonly Conv2d conv = new(16, 13, 3, stride: 2, padding: 1);

    public Tensor Forward([Shape(Dim.Batch, 7, 9, 16)] Tensor x) => F.Conv2d(F.Permute(x, 0, 3, 1, 2), conv);
}
