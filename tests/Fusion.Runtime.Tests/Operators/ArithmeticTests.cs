using Fusion.Compiler;
using Fusion.Testing;
using static Fusion.Runtime.Tests.Operators.OperatorCheck;

namespace Fusion.Runtime.Tests.Operators;

/// <summary>Add, Sub, Mul, Div (tensor–tensor with broadcasting, tensor–scalar, scalar–tensor), Neg and Abs.</summary>
public class ArithmeticTests
{
    /// <summary>Broadcast pairs: equal shapes, [C] vs [B, T, C], [B, 1, C] vs [B, T, C], a column against a row, a rank-1 size-1 operand.</summary>
    private static int[][][] Pairs(int batch) =>
    [
        [[batch, 5, 7], [batch, 5, 7]],
        [[batch, 5, 7], [7]],
        [[7], [batch, 5, 7]],
        [[batch, 1, 7], [batch, 5, 7]],
        [[batch, 5, 7], [batch, 1, 7]],
        [[5, 1], [1, 9]],
        [[batch, 5, 7], [1]],
        [[3, 1, 5, 1], [7, 1, 9]],
    ];

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void AddBroadcasts(DType dtype, int batch)
    {
        foreach (var (a, b) in Operands(batch, divisor: false))
        {
            Check(dtype, $"Add {a}+{b}", t => F.Add(t[0], t[1]), r => Reference(Ops.Add, AttributeSet.Empty, r), Map, a, b);
            // The backend's own Add and the descriptor agree with the hand-written broadcast of Ref.Add.
            Check(dtype, $"Add {a}+{b} vs Ref.Add", t => F.Add(t[0], t[1]), r => Ref.Add(r[0], r[1]), Map, a, b);
        }
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void SubBroadcasts(DType dtype, int batch)
    {
        foreach (var (a, b) in Operands(batch, divisor: false))
            Check(dtype, $"Sub {a}-{b}", t => F.Sub(t[0], t[1]), r => Reference(Ops.Sub, AttributeSet.Empty, r), Map, a, b);
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void MulBroadcasts(DType dtype, int batch)
    {
        foreach (var (a, b) in Operands(batch, divisor: false))
            Check(dtype, $"Mul {a}·{b}", t => F.Mul(t[0], t[1]), r => Reference(Ops.Mul, AttributeSet.Empty, r), Map, a, b);
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void DivBroadcasts(DType dtype, int batch)
    {
        // Divisors in ±[0.25, 2): quotients stay finite and far from f16 overflow.
        foreach (var (a, b) in Operands(batch, divisor: true))
            Check(dtype, $"Div {a}/{b}", t => F.Div(t[0], t[1]), r => Reference(Ops.Div, AttributeSet.Empty, r), Map, a, b);
    }

    [Theory]
    [MemberData(nameof(DTypes), MemberType = typeof(OperatorCheck))]
    public void ScalarOperandsOnEitherSide(DType dtype)
    {
        int seed = TestData.NewSeed();
        var x = TestData.Random(seed, 3, 5, 7);
        var divisor = Magnitudes(seed + 1, 0.25, 2, signed: true, 3, 5, 7);
        const float s = 0.3125f; // exact in f16
        Check(dtype, "Add(x, s)", t => F.Add(t[0], s), r => Elementwise(r[0], v => v + s), Map, x);
        Check(dtype, "Sub(x, s)", t => F.Sub(t[0], s), r => Elementwise(r[0], v => v - s), Map, x);
        Check(dtype, "Sub(s, x)", t => F.Sub(s, t[0]), r => Elementwise(r[0], v => s - v), Map, x);
        Check(dtype, "Mul(x, s)", t => F.Mul(t[0], s), r => Ref.Mul(r[0], s), Map, x);
        Check(dtype, "Div(x, s)", t => F.Div(t[0], s), r => Elementwise(r[0], v => v / s), Map, x);
        Check(dtype, "Div(s, x)", t => F.Div(s, t[0]), r => Elementwise(r[0], v => s / v), Map, divisor);
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void NegAndAbs(DType dtype, int batch)
    {
        var x = TestData.Uniform(TestData.NewSeed(), -3, 3, batch, 5, 7);
        Check(dtype, "Neg", t => F.Neg(t[0]), r => Reference(Ops.Neg, AttributeSet.Empty, r), 0, x);
        Check(dtype, "Abs", t => F.Abs(t[0]), r => Reference(Ops.Abs, AttributeSet.Empty, r), 0, x);
        Check(dtype, "Neg by formula", t => F.Neg(t[0]), r => Elementwise(r[0], v => -v), 0, x);
        Check(dtype, "Abs by formula", t => F.Abs(t[0]), r => Elementwise(r[0], Math.Abs), 0, x);
    }

    [Fact]
    public void SameTensorOnBothSides()
    {
        // x·x and x − x read one tensor twice (two buffers of one kernel bound to the same storage).
        var x = TestData.Random(TestData.NewSeed(), 3, 5, 7);
        Check(DType.Float32, "Mul(x, x)", t => F.Mul(t[0], t[0]), r => Elementwise(r[0], v => v * v), Map, x);
        Check(DType.Float32, "Sub(x, x)", t => F.Sub(t[0], t[0]), r => Elementwise(r[0], _ => 0), 0, x);
    }

    private static IEnumerable<(RefTensor A, RefTensor B)> Operands(int batch, bool divisor)
    {
        foreach (var pair in Pairs(batch))
        {
            int seed = TestData.NewSeed();
            var a = TestData.Uniform(seed, -2, 2, pair[0]);
            var b = divisor ? Magnitudes(seed + 1, 0.25, 2, signed: true, pair[1]) : TestData.Uniform(seed + 1, -2, 2, pair[1]);
            yield return (a, b);
        }
    }
}
