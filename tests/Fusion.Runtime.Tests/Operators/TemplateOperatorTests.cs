using Fusion.Compiler;
using Fusion.Testing;
using static Fusion.Runtime.Tests.Operators.OperatorCheck;

namespace Fusion.Runtime.Tests.Operators;

/// <summary>
/// The <c>F</c> operators that run as templates or load-time builders (Linear, MatMul, PatchConv, Value, RelativePositionBias,
/// ShiftedWindowMask) against their descriptors' references, which the compiler's tests and reports rely on.
/// </summary>
public class TemplateOperatorTests
{
    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void LinearWithAndWithoutBias(DType dtype, int batch)
    {
        int seed = TestData.NewSeed();
        var x = TestData.Random(seed, batch, 5, 13);
        foreach (bool hasBias in new[] { true, false })
        {
            var layer = new Linear(13, 11, hasBias);
            var w = LoadHalfExact(layer.weight, seed + 1);
            var b = layer.bias is null ? null : LoadHalfExact(layer.bias, seed + 2);
            RefTensor[] Operands(RefTensor[] r) => b is null ? [r[0], w] : [r[0], w, b];
            Check(dtype, $"Linear bias={hasBias}", t => F.Linear(t[0], layer), r => Reference(Ops.Linear, AttributeSet.Empty, Operands(r)), Reduction, x);
            Check(dtype, $"Linear bias={hasBias} vs Ref.Linear", t => F.Linear(t[0], layer), r => Ref.Linear(r[0], w, b), Reduction, x);
        }
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void MatMulSharedAndBatchedAndTransposed(DType dtype, int batch)
    {
        int seed = TestData.NewSeed();
        var a = TestData.Random(seed, batch, 5, 13);
        foreach (var (shape, transposed) in new[] { (new[] { 13, 7 }, false), ([batch, 13, 7], false), ([7, 13], true), ([batch, 7, 13], true) })
        {
            var b = TestData.Random(seed + shape.Length + (transposed ? 10 : 0), shape);
            var attributes = AttributeSet.Of(OpAttribute.Int("transposeB", transposed ? 1 : 0));
            string what = $"MatMul {a}·{b}{(transposed ? "ᵀ" : "")}";
            Check(dtype, what, t => F.MatMul(t[0], t[1], transposed), r => Reference(Ops.MatMul, attributes, r), Reduction, a, b);
            Check(dtype, what + " vs Ref.MatMul", t => F.MatMul(t[0], t[1], transposed), r => Ref.MatMul(r[0], r[1], transposed), Reduction, a, b);
        }
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void PatchConvIsPatchifyReshapeLinear(DType dtype, int batch)
    {
        // The front end writes PatchConv as Patchify → Reshape(weight) → Linear; the chain of those references is its meaning.
        int seed = TestData.NewSeed();
        var layer = new PatchConv(3, 5, 3);
        var w = LoadHalfExact(layer.weight, seed + 1);
        var b = LoadHalfExact(layer.bias, seed + 2);
        var x = TestData.Random(seed, batch, 3, 6, 9);
        Check(dtype, "PatchConv", t => F.PatchConv(t[0], layer), r =>
        {
            var patches = Reference(Ops.Patchify, AttributeSet.Of(OpAttribute.Int("patch", 3)), r[0]);
            var matrix = Reference(Ops.Reshape, AttributeSet.Of(OpAttribute.IntList("shape", [5, 27])), w);
            return Reference(Ops.Linear, AttributeSet.Empty, patches, matrix, b);
        }, Reduction, x);
        Check(dtype, "PatchConv vs Ref", t => F.PatchConv(t[0], layer), r => Ref.Linear(Ref.Patchify(r[0], 3), Ref.Reshape(w, 5, 27), b), Reduction, x);
    }

    [Fact]
    public void ValueIsTheParameter()
    {
        var parameter = new Parameter(3, 7);
        var values = LoadHalfExact(parameter, TestData.NewSeed());
        using var tensor = F.Value(parameter);
        Assert.Equal(DType.Float32, tensor.DType);
        Tolerance.AssertClose(tensor, values, 0, 0, "F.Value");
    }

    [Theory]
    [InlineData(3, 2)]
    [InlineData(7, 3)]
    public void RelativePositionBiasGathersTheTable(int window, int heads)
    {
        var table = new Parameter((2 * window - 1) * (2 * window - 1), heads);
        var values = LoadHalfExact(table, TestData.NewSeed());
        using var bias = F.RelativePositionBias(table, window);
        var attributes = AttributeSet.Of(OpAttribute.Int("window", window));
        Tolerance.AssertClose(bias, Reference(Ops.RelativePositionBias, attributes, values), 0, 0, "RelativePositionBias vs descriptor");
        Tolerance.AssertClose(bias, Ref.RelativePositionBias(values, window), 0, 0, "RelativePositionBias vs Ref");
    }

    [Theory]
    [InlineData(6, 9, 3, 1)]
    [InlineData(14, 14, 7, 3)]
    [InlineData(6, 6, 3, 0)]
    public void ShiftedWindowMaskMarksRegions(int height, int width, int window, int shift)
    {
        using var mask = F.ShiftedWindowMask(height, width, window, shift);
        var attributes = AttributeSet.Of(OpAttribute.Int("height", height), OpAttribute.Int("width", width), OpAttribute.Int("window", window), OpAttribute.Int("shift", shift));
        Tolerance.AssertClose(mask, Reference(Ops.ShiftedWindowMask, attributes), 0, 0, "ShiftedWindowMask vs descriptor");
        Tolerance.AssertClose(mask, Ref.ShiftedWindowMask(height, width, window, shift), 0, 0, "ShiftedWindowMask vs Ref");
    }
}
