using Fusion.Compiler;
using Fusion.Testing;
using static Fusion.Runtime.Tests.Operators.OperatorCheck;

namespace Fusion.Runtime.Tests.Operators;

/// <summary>Relu, GELU (erf and tanh forms), Sigmoid, SiLU, HardSwish and Clamp.</summary>
public class ActivationTests
{
    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void ActivationsMatchTheirDescriptors(DType dtype, int batch)
    {
        // [−6, 6): GELU's erf in both its series and continued-fraction ranges, HardSwish's three pieces (x < −3, between, x > 3).
        var x = TestData.Uniform(TestData.NewSeed(), -6, 6, batch, 5, 7);
        Check(dtype, "Relu", t => F.Relu(t[0]), r => Reference(Ops.Relu, AttributeSet.Empty, r), 0, x);
        Check(dtype, "Gelu", t => F.Gelu(t[0]), r => Reference(Ops.Gelu, AttributeSet.Empty, r), Map, x);
        Check(dtype, "GeluTanh", t => F.GeluTanh(t[0]), r => Reference(Ops.GeluTanh, AttributeSet.Empty, r), Map, x);
        Check(dtype, "Sigmoid", t => F.Sigmoid(t[0]), r => Reference(Ops.Sigmoid, AttributeSet.Empty, r), Map, x);
        Check(dtype, "Silu", t => F.Silu(t[0]), r => Reference(Ops.Silu, AttributeSet.Empty, r), Map, x);
        Check(dtype, "HardSwish", t => F.HardSwish(t[0]), r => Reference(Ops.HardSwish, AttributeSet.Empty, r), Map, x);
    }

    [Theory]
    [MemberData(nameof(DTypes), MemberType = typeof(OperatorCheck))]
    public void ActivationsMatchIndependentFormulas(DType dtype)
    {
        // The existing Ref.Gelu/Ref.Relu (own erf) and textbook formulas, independent of the descriptors.
        var x = TestData.Uniform(TestData.NewSeed(), -6, 6, 3, 5, 7);
        Check(dtype, "Relu vs Ref.Relu", t => F.Relu(t[0]), r => Ref.Relu(r[0]), 0, x);
        Check(dtype, "Gelu vs Ref.Gelu", t => F.Gelu(t[0]), r => Ref.Gelu(r[0]), Map, x);
        Check(dtype, "Sigmoid = (1 + tanh(x/2))/2", t => F.Sigmoid(t[0]), r => Elementwise(r[0], v => (1 + Math.Tanh(v / 2)) / 2), Map, x);
        Check(dtype, "Silu = x·sigmoid(x)", t => F.Silu(t[0]), r => Elementwise(r[0], v => v * (1 + Math.Tanh(v / 2)) / 2), Map, x);
        Check(dtype, "HardSwish = x·relu6(x + 3)/6", t => F.HardSwish(t[0]),
            r => Elementwise(r[0], v => v <= -3 ? 0 : v >= 3 ? v : v * (v + 3) / 6), Map, x);
        // PyTorch's tanh GELU, ½x(1 + tanh(√(2/π)(x + 0.044715x³))), evaluated at a few points in Python float64.
        var points = new RefTensor([4], [-3, -0.5, 0.5, 2]);
        Check(dtype, "GeluTanh at known points", t => F.GeluTanh(t[0]),
            _ => new RefTensor([4], [-0.0036373920817729943, -0.15428599017485606, 0.34571400982514394, 1.954597694087775]), Map, points);
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void ClampWithFiniteAndInfiniteBounds(DType dtype, int batch)
    {
        var x = TestData.Uniform(TestData.NewSeed(), -3, 3, batch, 5, 7);
        foreach (var (min, max) in new[] { (-0.5f, 1.25f), (float.NegativeInfinity, 0.75f), (-1.5f, float.PositiveInfinity), (0.25f, 0.25f) })
        {
            var attributes = AttributeSet.Of(OpAttribute.Real("min", min), OpAttribute.Real("max", max));
            Check(dtype, $"Clamp [{min}, {max}]", t => F.Clamp(t[0], min, max), r => Reference(Ops.Clamp, attributes, r), 0, x);
            Check(dtype, $"Clamp [{min}, {max}] by formula", t => F.Clamp(t[0], min, max), r => Elementwise(r[0], v => v < min ? min : v > max ? max : v), 0, x);
        }
    }
}
