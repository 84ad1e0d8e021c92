using Fusion.Compiler;
using Fusion.Testing;
using static Fusion.Runtime.Tests.Operators.OperatorCheck;

namespace Fusion.Runtime.Tests.Operators;

/// <summary>Sum, Mean and Max over any axes (negative, unsorted, non-contiguous, all), with and without keepDim.</summary>
public class ReductionTests
{
    /// <summary>Axis sets over [B, 3, 5, 7]: one axis (first, middle, last, negative), adjacent pairs, gaps, unsorted, all.</summary>
    private static readonly int[][] s_axes =
    [
        [0], [2], [3], [-1], [-3], [1, 2], [2, 3], [1, 3], [3, 1], [-1, -3], [0, 2], [1, 2, 3], [0, 1, 2, 3],
    ];

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void SumMeanMaxOverAnyAxes(DType dtype, int batch)
    {
        var x = TestData.Uniform(TestData.NewSeed(), -2, 2, batch, 3, 5, 7);
        foreach (var axes in s_axes)
        {
            foreach (bool keep in new[] { false, true })
            {
                var attributes = AttributeSet.Of(OpAttribute.IntList("axes", axes.Select(a => (long)a)), OpAttribute.Int("keepDim", keep ? 1 : 0));
                string what = $"[{string.Join(", ", axes)}]{(keep ? " keepDim" : "")}";
                Check(dtype, $"Sum {what}", t => F.Sum(t[0], axes, keep), r => Reference(Ops.Sum, attributes, r), Reduction, x);
                Check(dtype, $"Mean {what}", t => F.Mean(t[0], axes, keep), r => Reference(Ops.Mean, attributes, r), Reduction, x);
                Check(dtype, $"Max {what}", t => F.Max(t[0], axes, keep), r => Reference(Ops.Max, attributes, r), 0, x);
                Check(dtype, $"Sum {what} by loops", t => F.Sum(t[0], axes, keep), r => Reduce(r[0], axes, keep, 0, (s, v) => s + v), Reduction, x);
                Check(dtype, $"Max {what} by loops", t => F.Max(t[0], axes, keep), r => Reduce(r[0], axes, keep, double.NegativeInfinity, Math.Max), 0, x);
            }
        }
    }

    [Theory]
    [MemberData(nameof(DTypes), MemberType = typeof(OperatorCheck))]
    public void ParamsOverloadsDropTheAxes(DType dtype)
    {
        var x = TestData.Uniform(TestData.NewSeed(), -2, 2, 3, 5, 7);
        // F.Mean(x, params) runs the backend's Mean for consecutive axes and the descriptor's kernel otherwise.
        foreach (var axes in new[] { new[] { 1 }, [1, 2], [0, 2], [2, 0], [-1] })
        {
            var attributes = AttributeSet.Of(OpAttribute.IntList("axes", axes.Select(a => (long)a)), OpAttribute.Int("keepDim", 0));
            string what = $"[{string.Join(", ", axes)}]";
            Check(dtype, $"Sum {what}", t => F.Sum(t[0], axes), r => Reference(Ops.Sum, attributes, r), Reduction, x);
            Check(dtype, $"Mean {what}", t => F.Mean(t[0], axes), r => Reference(Ops.Mean, attributes, r), Reduction, x);
            Check(dtype, $"Max {what}", t => F.Max(t[0], axes), r => Reference(Ops.Max, attributes, r), 0, x);
        }
        // The existing Ref.Mean (contiguous axes) agrees with both paths.
        Check(dtype, "Mean [1, 2] vs Ref.Mean", t => F.Mean(t[0], 1, 2), r => Ref.Mean(r[0], 1, 2), Reduction, x);
        Check(dtype, "Mean [-2, -1] vs Ref.Mean", t => F.Mean(t[0], -2, -1), r => Ref.Mean(r[0], 1, 2), Reduction, x);
    }

    [Fact]
    public void MaxOfNegativeValuesIsNotZero()
    {
        // A maximum seeded with 0 instead of −∞ (or the first element) would return 0 here.
        var x = TestData.Uniform(TestData.NewSeed(), -3, -1, 3, 5, 7);
        Check(DType.Float32, "Max of negatives", t => F.Max(t[0], 1), r => Reduce(r[0], [1], false, double.NegativeInfinity, Math.Max), 0, x);
    }

    /// <summary>A reduction written with index loops: every input element folded into the output element it maps to.</summary>
    private static RefTensor Reduce(RefTensor x, int[] axes, bool keep, double seed, Func<double, double, double> fold)
    {
        var reduced = axes.Select(a => a < 0 ? a + x.Rank : a).ToHashSet();
        var keptShape = x.Shape.Select((d, i) => reduced.Contains(i) ? 1 : d).ToArray();
        var y = RefTensor.Derived(keptShape, x);
        Array.Fill(y.Data, seed);
        foreach (var index in RefTensor.Indices(x.Shape))
        {
            var target = index.Select((v, i) => reduced.Contains(i) ? 0 : v).ToArray();
            y[target] = fold(y[target], x[index]);
        }
        return keep ? y : new RefTensor(x.Shape.Where((_, i) => !reduced.Contains(i)).ToArray(), y.Data) { Seed = x.Seed };
    }
}
