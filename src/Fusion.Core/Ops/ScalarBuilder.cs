namespace Fusion.Compiler
{
    /// <summary>A value of the loop IR being built (an instruction id).</summary>
    internal readonly record struct Val(int Id);

    /// <summary>
    /// What a pointwise or reduction descriptor writes its scalar expression with. The lowering implements it: it appends
    /// instructions (sharing identical ones) to the kernel being built.
    /// </summary>
    internal interface IScalarBuilder
    {
        Val Const(double value);

        Val Op(ScalarOp op, params Val[] args);

        /// <summary>The operand's sum, maximum or minimum over the reduction variable (one value per row).</summary>
        Val Reduce(ReduceKind kind, Val value);
    }

    /// <summary>Spelling helpers so descriptors read like formulas.</summary>
    internal static class ScalarBuilderExtensions
    {
        public static Val Add(this IScalarBuilder b, Val x, Val y) => b.Op(ScalarOp.Add, x, y);

        public static Val Sub(this IScalarBuilder b, Val x, Val y) => b.Op(ScalarOp.Sub, x, y);

        public static Val Mul(this IScalarBuilder b, Val x, Val y) => b.Op(ScalarOp.Mul, x, y);

        public static Val Mul(this IScalarBuilder b, Val x, double y) => b.Op(ScalarOp.Mul, x, b.Const(y));

        public static Val Add(this IScalarBuilder b, Val x, double y) => b.Op(ScalarOp.Add, x, b.Const(y));

        public static Val Div(this IScalarBuilder b, Val x, Val y) => b.Op(ScalarOp.Div, x, y);

        public static Val Max(this IScalarBuilder b, Val x, Val y) => b.Op(ScalarOp.Max, x, y);

        public static Val Min(this IScalarBuilder b, Val x, Val y) => b.Op(ScalarOp.Min, x, y);

        public static Val Neg(this IScalarBuilder b, Val x) => b.Op(ScalarOp.Neg, x);

        public static Val Exp(this IScalarBuilder b, Val x) => b.Op(ScalarOp.Exp, x);

        public static Val Recip(this IScalarBuilder b, Val x) => b.Op(ScalarOp.Recip, x);

        public static Val Rsqrt(this IScalarBuilder b, Val x) => b.Op(ScalarOp.Rsqrt, x);

        public static Val Where(this IScalarBuilder b, Val condition, Val x, Val y) => b.Op(ScalarOp.Where, condition, x, y);

        /// <summary>1 / (1 + e^−x).</summary>
        public static Val Sigmoid(this IScalarBuilder b, Val x) => b.Recip(b.Add(b.Exp(b.Neg(x)), 1.0));
    }
}
