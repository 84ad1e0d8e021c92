namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        /// <summary>The int8 scale of a clipping threshold (the int8 plan's per-channel weight scales).</summary>
        public static readonly UnaryOp Int8Scale = new("Int8Scale", "int8 scale of a clipping threshold: t / 127, 1 when t is 0",
            (b, t) => b.Op(ScalarOp.Where, b.Op(ScalarOp.Gt, t, b.Const(0)), b.Div(t, b.Const(127)), b.Const(1)),
            t => t > 0 ? t / 127 : 1);

        /// <summary>The FP8 E4M3 scale of a clipping threshold (the Fp8 plan's per-tensor weight scales).</summary>
        public static readonly UnaryOp Fp8Scale = new("Fp8Scale", "FP8 E4M3 scale of a clipping threshold: t / 448, 1 when t is 0",
            (b, t) => b.Op(ScalarOp.Where, b.Op(ScalarOp.Gt, t, b.Const(0)), b.Div(t, b.Const(448)), b.Const(1)),
            t => t > 0 ? t / 448 : 1);
    }
}
