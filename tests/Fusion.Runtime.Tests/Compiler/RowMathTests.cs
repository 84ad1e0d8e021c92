using System.Numerics.Tensors;
using Fusion.Compiler;
using Fusion.Testing;

namespace Fusion.Runtime.Tests.Compiler;

/// <summary>
/// The interpreter's row arithmetic (<see cref="RowMath"/>: a strided walk's accumulation, a pointwise instruction's binary
/// operation with a row or one value on either side) against TensorPrimitives, which it replaces: every
/// length from 0 to 40 (whole vectors and tails), random values with NaNs, signed zeros and infinities mixed in; the results must be
/// the same bits (IEEE maximum and minimum, one rounding for the fused product).
/// </summary>
public class RowMathTests
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
            Same(acc, a => RowMath.Add(a, x), a => TensorPrimitives.Add(a, x, a), n, "add");
            Same(acc, a => RowMath.Max(a, x), a => TensorPrimitives.Max(a, x, a), n, "max");
            Same(acc, a => RowMath.Min(a, x), a => TensorPrimitives.Min(a, x, a), n, "min");
            Same(acc, a => RowMath.FusedMultiplyAdd(a, x, y), a => TensorPrimitives.FusedMultiplyAdd(x, y, a, a), n, "fma");
            Same(acc, a => RowMath.FusedMultiplyAdd(a, x, scalar), a => TensorPrimitives.FusedMultiplyAdd(x, scalar, a, a), n, "fma by one factor");
        }
    }

    [Fact]
    public void EachBinaryOperationGivesTensorPrimitivesBitsInEveryForm()
    {
        int seed = TestData.NewSeed();
        var random = new Random(seed);
        // TensorPrimitives' form of each: two rows, a row and a value, a value and a row (s + x and s · x as x + s and x · s).
        var forms = new (ScalarOp Op, Rows Rows, RowScalar RowScalar, ScalarRow ScalarRow)[]
        {
            (ScalarOp.Add, (a, b, y) => TensorPrimitives.Add(a, b, y), (a, s, y) => TensorPrimitives.Add(a, s, y), (s, b, y) => TensorPrimitives.Add(b, s, y)),
            (ScalarOp.Sub, (a, b, y) => TensorPrimitives.Subtract(a, b, y), (a, s, y) => TensorPrimitives.Subtract(a, s, y), (s, b, y) => TensorPrimitives.Subtract(s, b, y)),
            (ScalarOp.Mul, (a, b, y) => TensorPrimitives.Multiply(a, b, y), (a, s, y) => TensorPrimitives.Multiply(a, s, y), (s, b, y) => TensorPrimitives.Multiply(b, s, y)),
            (ScalarOp.Div, (a, b, y) => TensorPrimitives.Divide(a, b, y), (a, s, y) => TensorPrimitives.Divide(a, s, y), (s, b, y) => TensorPrimitives.Divide(s, b, y)),
            (ScalarOp.Max, (a, b, y) => TensorPrimitives.Max(a, b, y), (a, s, y) => TensorPrimitives.Max(a, s, y), (s, b, y) => TensorPrimitives.Max(b, s, y)),
            (ScalarOp.Min, (a, b, y) => TensorPrimitives.Min(a, b, y), (a, s, y) => TensorPrimitives.Min(a, s, y), (s, b, y) => TensorPrimitives.Min(b, s, y)),
        };
        for (int n = 0; n <= 40; n++)
        {
            float[] a = Values(random, n), b = Values(random, n);
            float s = random.Next(4) == 0 ? -0f : (float)(random.NextDouble() * 4 - 2);
            foreach (var (op, rows, rowScalar, scalarRow) in forms)
            {
                Same(new float[n], y => Assert.True(RowMath.TryApply(op, a, b, y)), y => rows(a, b, y), n, $"{op}, two rows (seed {seed})");
                Same(new float[n], y => Assert.True(RowMath.TryApply(op, a, s, scalarFirst: false, y)), y => rowScalar(a, s, y), n, $"{op}, row and {s} (seed {seed})");
                Same(new float[n], y => Assert.True(RowMath.TryApply(op, b, s, scalarFirst: true, y)), y => scalarRow(s, b, y), n, $"{op}, {s} and row (seed {seed})");
            }
            // In place, as the interpreter runs an instruction whose result takes an operand's row.
            Same(a, y => RowMath.TryApply(ScalarOp.Sub, y, b, y), y => TensorPrimitives.Subtract(y, b, y), n, $"sub in place (seed {seed})");
        }
        Assert.False(RowMath.TryApply(ScalarOp.Exp, new float[3], new float[3], new float[3]));
    }

    private delegate void Rows(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);

    private delegate void RowScalar(ReadOnlySpan<float> a, float s, Span<float> y);

    private delegate void ScalarRow(float s, ReadOnlySpan<float> b, Span<float> y);

    [Fact]
    public void RowsOfDifferentLengthsAreRefusedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => RowMath.Max(new float[5], new float[4]));
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
