using Fusion.Compiler;
using Fusion.Testing;
using static Fusion.Runtime.Tests.Operators.OperatorCheck;

namespace Fusion.Runtime.Tests.Operators;

/// <summary>LayerNorm, RmsNorm and Softmax (any axis) against their descriptors and the existing hand-written references.</summary>
public class NormalizationTests
{
    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void LayerNormOnOddChannels(DType dtype, int batch)
    {
        foreach (int c in new[] { 1, 13, 77 })
        {
            int seed = TestData.NewSeed();
            var norm = new LayerNorm(c, 1e-5f);
            var w = LoadHalfExact(norm.weight, seed + 1, 0.5, 1.5);
            var b = LoadHalfExact(norm.bias, seed + 2, -0.5, 0.5);
            // An offset mean (values in [2, 4)) catches a variance computed as E[x²] − E[x]².
            var x = TestData.Uniform(seed, 2, 4, batch, 5, c);
            var attributes = AttributeSet.Of(OpAttribute.Real("eps", 1e-5f));
            Check(dtype, $"LayerNorm C={c}", t => F.LayerNorm(t[0], norm), r => Reference(Ops.LayerNorm, attributes, r[0], w, b), Reduction, x);
            Check(dtype, $"LayerNorm C={c} vs Ref.LayerNorm", t => F.LayerNorm(t[0], norm), r => Ref.LayerNorm(r[0], w, b, 1e-5f), Reduction, x);
        }
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void RmsNormOnOddChannels(DType dtype, int batch)
    {
        foreach (int c in new[] { 1, 13, 77 })
        {
            int seed = TestData.NewSeed();
            var norm = new RmsNorm(c, 1e-6f);
            var w = LoadHalfExact(norm.weight, seed + 1, 0.5, 1.5);
            var x = TestData.Uniform(seed, -2, 2, batch, 5, c);
            var attributes = AttributeSet.Of(OpAttribute.Real("eps", 1e-6f));
            Check(dtype, $"RmsNorm C={c}", t => F.RmsNorm(t[0], norm), r => Reference(Ops.RmsNorm, attributes, r[0], w), Reduction, x);
            Check(dtype, $"RmsNorm C={c} by formula", t => F.RmsNorm(t[0], norm), r => RmsNorm(r[0], w, 1e-6f), Reduction, x);
        }
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void SoftmaxAlongEveryAxis(DType dtype, int batch)
    {
        // Logits in [−20, 20): e^x overflows f16 without the max subtraction. Axis −1 runs the backend's softmax, the others the
        // descriptor's kernel; both must agree with the last-axis reference applied to the axis moved last.
        var x = TestData.Uniform(TestData.NewSeed(), -20, 20, batch, 5, 7);
        foreach (int axis in new[] { -1, 2, 1, -2, 0, -3 })
        {
            var attributes = AttributeSet.Of(OpAttribute.Int("axis", axis));
            Check(dtype, $"Softmax axis {axis}", t => F.Softmax(t[0], axis), r => Reference(Ops.Softmax, attributes, r), Reduction, x);
            int positive = axis < 0 ? axis + 3 : axis;
            Check(dtype, $"Softmax axis {axis} vs Ref.Softmax", t => F.Softmax(t[0], axis), r => SoftmaxAlong(r[0], positive), Reduction, x);
        }
        Check(dtype, "Softmax()", t => F.Softmax(t[0]), r => Ref.Softmax(r[0]), Reduction, x);
    }

    private static RefTensor RmsNorm(RefTensor x, RefTensor w, double eps)
    {
        int c = x.Shape[^1];
        var y = RefTensor.Derived(x.Shape, x, w);
        for (int row = 0; row < x.Count / c; row++)
        {
            double squares = 0;
            for (int i = 0; i < c; i++) squares += x.Data[row * c + i] * x.Data[row * c + i];
            double scale = 1 / Math.Sqrt(squares / c + eps);
            for (int i = 0; i < c; i++) y.Data[row * c + i] = x.Data[row * c + i] * scale * w.Data[i];
        }
        return y;
    }

    /// <summary>Softmax along <paramref name="axis"/>: the axis swapped to the end, Ref.Softmax, and swapped back.</summary>
    private static RefTensor SoftmaxAlong(RefTensor x, int axis)
    {
        var order = Enumerable.Range(0, x.Rank).ToArray();
        (order[axis], order[^1]) = (order[^1], order[axis]);
        return Ref.Permute(Ref.Softmax(Ref.Permute(x, order)), order);
    }
}
