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

/// <summary>
/// <see cref="Int8OneLinear"/> with weights uniform in ±0.4, an input [3, 5, 37] uniform in ±3, a threshold below its largest |x|
/// (some values saturate at ±127), and what the int8 reference (<see cref="Fusion.Quantization.Int8Linear"/>) gives for them.
/// </summary>
internal sealed record Int8OneLinearCase(Int8OneLinear Model, Fusion.Testing.RefTensor X, double Threshold, float[] Expected)
{
    public static Int8OneLinearCase Create(int seed)
    {
        var random = new Random(seed);
        var model = new Int8OneLinear();
        foreach (var p in model.NamedParameters()) p.Parameter.InitUniform(random, 0.4f);
        var x = Fusion.Testing.TestData.Uniform(seed + 1, -3, 3, 3, 5, 37);
        float[] xs = x.Data.Select(v => (float)v).ToArray();
        double threshold = 0.8 * xs.Max(Math.Abs);
        var expected = new float[15 * 29];
        Fusion.Quantization.Int8Linear.Run(xs, 15, Fusion.Quantization.Int8Quantizer.ScaleFor(threshold),
            Fusion.Quantization.QuantizedWeight.From(model.fc.weight.Value.Span<float>().ToArray(), 29, 37), model.fc.bias!.Value.Span<float>(), expected);
        return new Int8OneLinearCase(model, x, threshold, expected);
    }
}
