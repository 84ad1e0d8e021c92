using System;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly BinaryOp Add = new("Add", "a + b (broadcast)", (b, x, y) => b.Add(x, y), (x, y) => x + y);

        public static readonly BinaryOp Sub = new("Sub", "a − b (broadcast)", (b, x, y) => b.Sub(x, y), (x, y) => x - y);

        public static readonly BinaryOp Mul = new("Mul", "a · b (broadcast)", (b, x, y) => b.Mul(x, y), (x, y) => x * y);

        public static readonly BinaryOp Div = new("Div", "a / b (broadcast)", (b, x, y) => b.Div(x, y), (x, y) => x / y);

        public static readonly UnaryOp Neg = new("Neg", "−x", (b, x) => b.Neg(x), x => -x);

        public static readonly UnaryOp Abs = new("Abs", "|x|", (b, x) => b.Op(ScalarOp.Abs, x), Math.Abs);

        public static readonly PowOp Pow = new();
    }

    /// <summary>x raised to a constant exponent; small integer and half exponents become multiplications and square roots.</summary>
    internal sealed class PowOp() : PointwiseOp("Pow", "x^exponent (a constant exponent)", "x")
    {
        public override Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes)
        {
            double e = attributes.Float("exponent");
            switch (e)
            {
                case 0: return b.Const(1);
                case 1: return x[0];
                case 2: return b.Mul(x[0], x[0]);
                case 3: return b.Mul(b.Mul(x[0], x[0]), x[0]);
                case 0.5: return b.Op(ScalarOp.Sqrt, x[0]);
                case -0.5: return b.Rsqrt(x[0]);
                case -1: return b.Recip(x[0]);
                default: return b.Op(ScalarOp.Pow, x[0], b.Const(e));
            }
        }

        public override double Apply(double[] x, AttributeSet attributes) => Math.Pow(x[0], attributes.Float("exponent"));
    }
}
