using System;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly UnaryOp Relu = new("Relu", "max(x, 0)", (b, x) => b.Max(x, b.Const(0)), x => x > 0 ? x : 0);

        public static readonly UnaryOp Gelu = new("Gelu", "GELU, erf form: x·½·(1 + erf(x/√2))",
            (b, x) => b.Op(ScalarOp.Gelu, x),
            x => 0.5 * x * (1 + SpecialFunctions.Erf(x / Math.Sqrt(2))));

        public static readonly UnaryOp GeluTanh = new("GeluTanh", "GELU, tanh form: x·½·(1 + tanh(√(2/π)·(x + 0.044715·x³)))",
            (b, x) => b.Op(ScalarOp.GeluTanh, x),
            x => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))));

        public static readonly UnaryOp Sigmoid = new("Sigmoid", "1 / (1 + e^−x)", (b, x) => b.Sigmoid(x), x => 1 / (1 + Math.Exp(-x)));

        public static readonly UnaryOp Silu = new("Silu", "SiLU (swish): x · sigmoid(x)", (b, x) => b.Mul(x, b.Sigmoid(x)), x => x / (1 + Math.Exp(-x)));

        public static readonly UnaryOp HardSwish = new("HardSwish", "x · clamp(x + 3, 0, 6) / 6",
            (b, x) => b.Mul(b.Mul(x, b.Min(b.Max(b.Add(x, 3.0), b.Const(0)), b.Const(6))), 1.0 / 6.0),
            x => x * Math.Min(Math.Max(x + 3, 0), 6) / 6);

        public static readonly ClampOp Clamp = new();
    }

    /// <summary>min(max(x, min), max); either bound may be infinite.</summary>
    internal sealed class ClampOp() : PointwiseOp("Clamp", "min(max(x, min), max)", "x")
    {
        public override Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes)
        {
            var v = x[0];
            double lo = attributes.Float("min"), hi = attributes.Float("max");
            if (!double.IsNegativeInfinity(lo)) v = b.Max(v, b.Const(lo));
            if (!double.IsPositiveInfinity(hi)) v = b.Min(v, b.Const(hi));
            return v;
        }

        public override double Apply(double[] x, AttributeSet attributes) => Math.Min(Math.Max(x[0], attributes.Float("min")), attributes.Float("max"));
    }
}
