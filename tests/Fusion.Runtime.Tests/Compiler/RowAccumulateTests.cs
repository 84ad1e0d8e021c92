using System.Numerics.Tensors;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// The interpreter's strided-walk accumulation (<see cref="RowAccumulate"/>) against TensorPrimitives, which it replaces: every
/// length from 0 to 40 (whole vectors and tails), random values with NaNs, signed zeros and infinities mixed in; the results must be
/// the same bits (IEEE maximum and minimum, one rounding for the fused product).
/// </summary>
public class RowAccumulateTests
{
    private static float[] Values(Random random, int n)
    {
        var special = new[] { float.NaN, 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, 1e-40f };
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = random.Next(5) == 0 ? special[random.Next(special.Length)] : (float)(random.NextDouble() * 8 - 4);
        return v;
    }

    [Fact]
    public void EachOperationGivesTensorPrimitivesBits()
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        for (int n = 0; n <= 40; n++)
        {
            float[] acc = Values(random, n), x = Values(random, n), y = Values(random, n);
            float scalar = (float)(random.NextDouble() * 4 - 2);
            Same(acc, a => RowAccumulate.Add(a, x), a => TensorPrimitives.Add(a, x, a), n, "add");
            Same(acc, a => RowAccumulate.Max(a, x), a => TensorPrimitives.Max(a, x, a), n, "max");
            Same(acc, a => RowAccumulate.Min(a, x), a => TensorPrimitives.Min(a, x, a), n, "min");
            Same(acc, a => RowAccumulate.FusedMultiplyAdd(a, x, y), a => TensorPrimitives.FusedMultiplyAdd(x, y, a, a), n, "fma");
            Same(acc, a => RowAccumulate.FusedMultiplyAdd(a, x, scalar), a => TensorPrimitives.FusedMultiplyAdd(x, scalar, a, a), n, "fma by one factor");
        }
    }

    [Fact]
    public void RowsOfDifferentLengthsAreRefusedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => RowAccumulate.Max(new float[5], new float[4]));
        Assert.Contains("4 values", e.Message);
    }

    private static void Same(float[] start, SpanAction ours, SpanAction theirs, int n, string what)
    {
        float[] a = (float[])start.Clone(), b = (float[])start.Clone();
        ours(a);
        theirs(b);
        for (int i = 0; i < n; i++)
            Assert.True(BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(b[i]) || (float.IsNaN(a[i]) && float.IsNaN(b[i])),
                $"{what}, length {n}, element {i}: {a[i]} against TensorPrimitives' {b[i]}");
    }

    private delegate void SpanAction(Span<float> acc);
}
