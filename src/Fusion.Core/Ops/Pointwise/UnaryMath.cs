using System;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly UnaryOp Exp = new("Exp", "e^x", (b, x) => b.Exp(x), Math.Exp);

        public static readonly UnaryOp Log = new("Log", "natural logarithm", (b, x) => b.Op(ScalarOp.Log, x), Math.Log);

        public static readonly UnaryOp Sqrt = new("Sqrt", "√x", (b, x) => b.Op(ScalarOp.Sqrt, x), Math.Sqrt);

        public static readonly UnaryOp Rsqrt = new("Rsqrt", "1/√x", (b, x) => b.Rsqrt(x), x => 1 / Math.Sqrt(x));

        public static readonly UnaryOp Tanh = new("Tanh", "tanh x", (b, x) => b.Op(ScalarOp.Tanh, x), Math.Tanh);
    }
}
