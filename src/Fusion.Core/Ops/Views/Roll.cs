using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly RollOp Roll = new();
    }

    /// <summary>Cyclic shift like torch.roll: out[i] = x[(i − shift) mod n] along each of <c>axes</c>.</summary>
    internal sealed class RollOp() : ViewOp("Roll", "cyclic shift along axes (torch.roll)")
    {
        public override string ShapeRule => "x's shape";

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            foreach (var raw in attributes.Ints("axes"))
            {
                int axis = Dims.Axis(raw, a.Length);
                if (axis < 0) return Fail($"axis {raw} is outside {Dims.Text(a)}", out error);
                if (a[axis].Dynamic) return Fail($"cannot roll along the batch axis of {Dims.Text(a)}", out error);
            }
            return a;
        }

        public override ViewRead Read(ViewQuery q)
        {
            var index = (IndexExpr[])q.Index.Clone();
            long shift = q.Attributes.Int("shift");
            foreach (var raw in q.Attributes.Ints("axes"))
            {
                int axis = Dims.Axis(raw, index.Length);
                long n = q.Output[axis].Value, s = ((shift % n) + n) % n;
                if (s != 0) index[axis] = q.Algebra.Mod(q.Algebra.Add(index[axis], n - s), n);
            }
            return ViewRead.One(index);
        }

        public override bool Forwards => true;

        /// <summary>Element i of a rolled axis lands at (i + shift) mod n.</summary>
        public override IndexExpr[]? Forward(ViewQuery q)
        {
            var index = (IndexExpr[])q.Index.Clone();
            long shift = q.Attributes.Int("shift");
            foreach (var raw in q.Attributes.Ints("axes"))
            {
                int axis = Dims.Axis(raw, index.Length);
                long n = q.Output[axis].Value, s = ((shift % n) + n) % n;
                if (s != 0) index[axis] = q.Algebra.Mod(q.Algebra.Add(index[axis], s), n);
            }
            return index;
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            var index = (long[])outIndex.Clone();
            long shift = attributes.Int("shift");
            foreach (var raw in attributes.Ints("axes"))
            {
                int axis = Dims.Axis(raw, index.Length);
                long n = outShape[axis];
                index[axis] = (((outIndex[axis] - shift) % n) + n) % n;
            }
            return (0, index);
        }
    }
}
