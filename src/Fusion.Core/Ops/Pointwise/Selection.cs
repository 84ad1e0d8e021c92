namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly WhereOp Where = new();

        public static readonly MaskedFillOp MaskedFill = new();
    }

    /// <summary>condition ≠ 0 ? a : b, broadcast over all three.</summary>
    internal sealed class WhereOp() : PointwiseOp("Where", "condition ≠ 0 ? a : b (broadcast)", "condition", "a", "b")
    {
        public override Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes) => b.Where(x[0], x[1], x[2]);

        public override double Apply(double[] x, AttributeSet attributes) => x[0] != 0 ? x[1] : x[2];
    }

    /// <summary>mask ≠ 0 ? value : x: a constant written where a (broadcast) mask is set, as attention masks are.</summary>
    internal sealed class MaskedFillOp() : PointwiseOp("MaskedFill", "mask ≠ 0 ? value : x (mask broadcast)", "x", "mask")
    {
        public override Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes) => b.Where(x[1], b.Const(attributes.Float("value")), x[0]);

        public override double Apply(double[] x, AttributeSet attributes) => x[1] != 0 ? attributes.Float("value") : x[0];
    }
}
