using Fusion.Compiler;
using Fusion.Testing;
using static Fusion.Runtime.Tests.Operators.OperatorCheck;

namespace Fusion.Runtime.Tests.Operators;

/// <summary>
/// The eager path itself (EagerKernels → LoopInterpreter): kernels cached per operator, attributes, scalars, shapes and dtype;
/// rows longer than the interpreter's block size and many rows spread over workers; and F.Add's f32/f16 promotion.
/// </summary>
public class EagerPathTests
{
    [Fact]
    public void CachedKernelsAreKeyedByAttributesScalarsAndDtype()
    {
        // Same operator and shapes, different constants: a kernel reused across them would return the first call's result.
        var x = TestData.Uniform(TestData.NewSeed(), 0.5, 2, 3, 5, 7);
        foreach (var exponent in new[] { 2f, 3f, 1.7f })
            Check(DType.Float32, $"Pow {exponent}", t => F.Pow(t[0], exponent), r => Elementwise(r[0], v => Math.Pow(v, exponent)), Map, x);
        foreach (var s in new[] { 1f, -2.5f })
            Check(DType.Float32, $"Sub(x, {s})", t => F.Sub(t[0], s), r => Elementwise(r[0], v => v - s), Map, x);
        foreach (var (min, max) in new[] { (0.75f, 1.25f), (1f, 1.5f) })
            Check(DType.Float32, $"Clamp [{min}, {max}]", t => F.Clamp(t[0], min, max), r => Elementwise(r[0], v => Math.Clamp(v, min, max)), 0, x);
        foreach (var value in new[] { 0f, 3f })
            CheckExact(DType.Float32, $"Pad value {value}", t => F.Pad(t[0], [1, 1], value),
                r => Reference(Ops.Pad, AttributeSet.Of(OpAttribute.IntList("pads", [1, 1]), OpAttribute.Real("value", value)), r), x);
        foreach (var dtype in new[] { DType.Float16, DType.Float32 })
            Check(dtype, "Exp after the other dtype", t => F.Exp(t[0]), r => Elementwise(r[0], Math.Exp), Map, x);
    }

    [Fact]
    public void LongRowsAndManyRows()
    {
        int seed = TestData.NewSeed();
        // 4099 elements a row: more than the 4096 the interpreter batches rows up to.
        var wide = TestData.Random(seed, 3, 4099);
        Check(DType.Float32, "Exp [3, 4099]", t => F.Exp(t[0]), r => Reference(Ops.Exp, AttributeSet.Empty, r), Map, wide);
        Check(DType.Float32, "Softmax axis 0 of [3, 4099]", t => F.Softmax(t[0], 0), r => Reference(Ops.Softmax, AttributeSet.Of(OpAttribute.Int("axis", 0)), r), Reduction, wide);
        var axes = AttributeSet.Of(OpAttribute.IntList("axes", [1]), OpAttribute.Int("keepDim", 0));
        Check(DType.Float16, "Sum over 4099", t => F.Sum(t[0], 1), r => Reference(Ops.Sum, axes, r), Reduction, wide);
        // 2003 short rows: blocks of rows spread over the workers.
        var tall = TestData.Random(seed + 1, 2003, 3, 5);
        Check(DType.Float32, "Sub [2003, 3, 5] − [5]", t => F.Sub(t[0], t[1]), r => Reference(Ops.Sub, AttributeSet.Empty, r), Map, tall, TestData.Random(seed + 2, 5));
        Check(DType.Float16, "Max over axis 1 of [2003, 3, 5]", t => F.Max(t[0], 1), r => Reference(Ops.Max, axes, r), 0, tall);
    }

    [Fact]
    public void AddPromotesAFloat32OperandToFloat16()
    {
        // F.Add documents that an f32 operand met with an f16 one is converted to f16 first: the result is f16 and equals
        // the f16 sum of the rounded operands (two roundings of the f32 side: to f16, then the sum's).
        int seed = TestData.NewSeed();
        var a = TestData.Random(seed, 3, 5, 7);
        var b = TestData.Random(seed + 1, DType.Float16, 7);
        using var a32 = a.ToCpu(DType.Float32);
        using var b16 = b.ToCpu(DType.Float16);
        foreach (var (left, right, what) in new[] { (a32, b16, "f32 + f16"), (b16, a32, "f16 + f32") })
        {
            using var sum = F.Add(left, right);
            Assert.Equal(DType.Float16, sum.DType);
            Tolerance.AssertClose(sum, Ref.Add(a.RoundedTo(DType.Float16), b), Precision.Half, Precision.Half, what);
        }
    }
}
