using Fusion.Compiler;
using Fusion.Testing;
using static Fusion.Runtime.Tests.Operators.OperatorCheck;

namespace Fusion.Runtime.Tests.Operators;

/// <summary>Where and MaskedFill with broadcast conditions and masks: selections are exact.</summary>
public class SelectionTests
{
    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void WhereBroadcastsAllThreeOperands(DType dtype, int batch)
    {
        int seed = TestData.NewSeed();
        // A [T, 1] condition against [B, T, C] and [C] branches: each row of the condition picks a whole row.
        var condition = Mask(seed, 5, 1);
        var a = TestData.Random(seed + 1, batch, 5, 7);
        var b = TestData.Random(seed + 2, 7);
        CheckExact(dtype, "Where([T,1], [B,T,C], [C])", t => F.Where(t[0], t[1], t[2]), r => Reference(Ops.Where, AttributeSet.Empty, r), condition, a, b);
        CheckExact(dtype, "Where by formula", t => F.Where(t[0], t[1], t[2]), r => Select(r[0], r[1], r[2]), condition, a, b);
        // An elementwise condition with a [B, 1, C] branch.
        var full = Mask(seed + 3, batch, 5, 7);
        var c = TestData.Random(seed + 4, batch, 1, 7);
        CheckExact(dtype, "Where([B,T,C], [B,1,C], [B,T,C])", t => F.Where(t[0], t[1], t[2]), r => Select(r[0], r[1], r[2]), full, c, a);
    }

    [Theory]
    [MemberData(nameof(DTypes), MemberType = typeof(OperatorCheck))]
    public void WhereWithAScalarBranch(DType dtype)
    {
        int seed = TestData.NewSeed();
        var condition = Mask(seed, 3, 5, 7);
        var x = TestData.Random(seed + 1, 3, 5, 7);
        var scalar = new RefTensor([1], [-0.625]);
        CheckExact(dtype, "Where(c, x, s)", t => F.Where(t[0], t[1], -0.625f), r => Select(r[0], r[1], scalar), condition, x);
        CheckExact(dtype, "Where(c, s, x)", t => F.Where(t[0], -0.625f, t[1]), r => Select(r[0], scalar, r[1]), condition, x);
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void MaskedFillBroadcastsTheMask(DType dtype, int batch)
    {
        int seed = TestData.NewSeed();
        var x = TestData.Random(seed, batch, 5, 7);
        var attributes = AttributeSet.Of(OpAttribute.Real("value", -100));
        foreach (var maskShape in new[] { new[] { batch, 1, 7 }, [5, 1], [7] })
        {
            var mask = Mask(seed + maskShape.Length, maskShape);
            CheckExact(dtype, $"MaskedFill mask {mask}", t => F.MaskedFill(t[0], t[1], -100f), r => Reference(Ops.MaskedFill, attributes, r), x, mask);
            CheckExact(dtype, $"MaskedFill mask {mask} by formula", t => F.MaskedFill(t[0], t[1], -100f),
                r => Select(r[1], new RefTensor([1], [-100]), r[0]), x, mask);
        }
    }

    [Fact]
    public void MaskedFillWritesNegativeInfinity()
    {
        // Attention masks fill with −∞; the tolerance helper rejects infinities, so check the positions directly.
        int seed = TestData.NewSeed();
        var x = TestData.Random(seed, 3, 5, 7);
        var mask = Mask(seed + 1, 5, 1);
        using var xt = x.ToCpu();
        using var mt = mask.ToCpu();
        using var y = (CpuTensor)F.MaskedFill(xt, mt, float.NegativeInfinity);
        var values = y.ToFloatArray();
        foreach (var index in RefTensor.Indices(x.Shape))
        {
            float v = values[x.Offset(index)];
            bool set = mask[index[1], 0] != 0;
            Assert.True(set ? float.IsNegativeInfinity(v) : v == (float)x[index], $"at [{string.Join(", ", index)}]: {v} (mask {set}, seed {seed})");
        }
    }

    /// <summary>c ≠ 0 ? a : b with NumPy broadcasting, written with index loops.</summary>
    private static RefTensor Select(RefTensor c, RefTensor a, RefTensor b)
    {
        int rank = new[] { c.Rank, a.Rank, b.Rank }.Max();
        var shape = new int[rank];
        foreach (var t in new[] { c, a, b })
            for (int i = 0; i < t.Rank; i++)
                shape[rank - t.Rank + i] = Math.Max(shape[rank - t.Rank + i], t.Shape[i]);
        var y = RefTensor.Derived(shape, a, b, c);
        foreach (var index in RefTensor.Indices(shape))
            y[index] = c[At(c, index)] != 0 ? a[At(a, index)] : b[At(b, index)];
        return y;
    }

    private static int[] At(RefTensor t, int[] index) =>
        t.Shape.Select((d, i) => d == 1 ? 0 : index[index.Length - t.Rank + i]).ToArray();
}
