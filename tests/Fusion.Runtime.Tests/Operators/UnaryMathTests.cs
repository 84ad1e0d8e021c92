using Fusion.Compiler;
using Fusion.Testing;
using static Fusion.Runtime.Tests.Operators.OperatorCheck;

namespace Fusion.Runtime.Tests.Operators;

/// <summary>Exp, Log, Sqrt, Rsqrt, Tanh and Pow against their descriptors' references.</summary>
public class UnaryMathTests
{
    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void ExpAndTanh(DType dtype, int batch)
    {
        // [−4, 4): e^x up to 55 (well inside f16), tanh through its linear and saturating parts.
        var x = TestData.Uniform(TestData.NewSeed(), -4, 4, batch, 5, 7);
        Check(dtype, "Exp", t => F.Exp(t[0]), r => Reference(Ops.Exp, AttributeSet.Empty, r), Map, x);
        Check(dtype, "Tanh", t => F.Tanh(t[0]), r => Reference(Ops.Tanh, AttributeSet.Empty, r), Map, x);
    }

    [Theory]
    [MemberData(nameof(DTypesAndBatches), MemberType = typeof(OperatorCheck))]
    public void LogSqrtRsqrtOnPositiveInputs(DType dtype, int batch)
    {
        // (0.05, 9): log both sides of 1, 1/√x up to 4.5.
        var x = TestData.Uniform(TestData.NewSeed(), 0.05, 9, batch, 5, 7);
        Check(dtype, "Log", t => F.Log(t[0]), r => Reference(Ops.Log, AttributeSet.Empty, r), Map, x);
        Check(dtype, "Sqrt", t => F.Sqrt(t[0]), r => Reference(Ops.Sqrt, AttributeSet.Empty, r), Map, x);
        Check(dtype, "Rsqrt", t => F.Rsqrt(t[0]), r => Reference(Ops.Rsqrt, AttributeSet.Empty, r), Map, x);
    }

    /// <summary>Exponents the descriptor special-cases (0, 1, 2, 3, ½, −½, −1) and a general one, on signed inputs where defined.</summary>
    [Theory]
    [InlineData(2.0, true)]
    [InlineData(3.0, true)]
    [InlineData(-1.0, true)]
    [InlineData(0.5, false)]
    [InlineData(-0.5, false)]
    [InlineData(1.7, false)]
    [InlineData(0.0, true)]
    [InlineData(1.0, true)]
    public void PowWithConstantExponents(double exponent, bool signed)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float16 })
        {
            foreach (int batch in new[] { 1, 3 })
            {
                // |x| in [0.25, 2.5): x^−1 ≤ 4, x³ < 16, x^1.7 < 5.
                var x = Magnitudes(TestData.NewSeed(), 0.25, 2.5, signed, batch, 5, 7);
                var attributes = AttributeSet.Of(OpAttribute.Real("exponent", exponent));
                Check(dtype, $"Pow {exponent}", t => F.Pow(t[0], (float)exponent), r => Reference(Ops.Pow, attributes, r), Map, x);
            }
        }
    }
}
