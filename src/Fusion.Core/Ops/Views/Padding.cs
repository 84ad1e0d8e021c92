using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly PadOp Pad = new();

        public static readonly ConcatOp Concat = new();
    }

    /// <summary>
    /// Constant padding like torch.nn.functional.pad: <c>pads</c> are (before, after) pairs starting from the last axis
    /// (left, right of the last, then of the one before, …); new elements hold <c>value</c>.
    /// </summary>
    internal sealed class PadOp() : ViewOp("Pad", "constant padding (torch.nn.functional.pad order)")
    {
        public override string ShapeRule => "x with `pads[2k]` + `pads[2k+1]` more elements on its (k+1)-th axis from the end";

        public override bool Bijective => false;

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            var pads = attributes.Ints("pads");
            if (pads.Length % 2 != 0 || pads.Length / 2 > a.Length) return Fail($"{pads.Length} pads: need (before, after) pairs for at most {a.Length} axes", out error);
            if (pads.Any(p => p < 0)) return Fail($"pads [{string.Join(", ", pads)}] must not be negative", out error);
            var r = (Dim[])a.Clone();
            for (int k = 0; k < pads.Length / 2; k++)
            {
                int axis = a.Length - 1 - k;
                if (pads[2 * k] + pads[2 * k + 1] == 0) continue;
                if (a[axis].Dynamic) return Fail($"cannot pad the batch axis of {Dims.Text(a)}", out error);
                r[axis] = Dim.Static(a[axis].Value + pads[2 * k] + pads[2 * k + 1]);
            }
            return r;
        }

        public override ViewRead Read(ViewQuery q)
        {
            var a = q.Inputs[0];
            var pads = q.Attributes.Ints("pads");
            var index = (IndexExpr[])q.Index.Clone();
            var bounds = new List<IndexBound>();
            for (int k = 0; k < pads.Length / 2; k++)
            {
                int axis = a.Length - 1 - k;
                if (pads[2 * k] + pads[2 * k + 1] == 0) continue;
                index[axis] = q.Algebra.Add(index[axis], -pads[2 * k]);
                bounds.Add(new IndexBound(q.Index[axis], pads[2 * k], pads[2 * k] + a[axis].Value));
            }
            return new ViewRead(new[] { new ViewPiece(0, index, bounds.ToArray()) }, q.Attributes.FloatOr("value", 0));
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            var a = inputs[0].Shape;
            var pads = attributes.Ints("pads");
            var index = (long[])outIndex.Clone();
            for (int k = 0; k < pads.Length / 2; k++)
            {
                int axis = a.Length - 1 - k;
                index[axis] -= pads[2 * k];
                if (index[axis] < 0 || index[axis] >= a[axis]) return (0, null);
            }
            return (0, index);
        }

        protected override double Fill(AttributeSet attributes) => attributes.FloatOr("value", 0);
    }

    /// <summary>Tensors joined along <c>axis</c>; every other axis must agree.</summary>
    internal sealed class ConcatOp() : ViewOp("Concat", "tensors joined along an axis")
    {
        public override string ShapeRule => "`tensors` joined along `axis`: its sizes summed, the other axes equal";

        public override bool Bijective => false;

        public override IReadOnlyList<string> Operands => new[] { "tensors" };

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            if (inputs.Count == 0) return Fail("Concat needs at least one tensor", out error);
            var first = inputs[0];
            int axis = Dims.Axis(attributes.Int("axis"), first.Length);
            if (axis < 0) return Fail($"axis {attributes.Int("axis")} is outside {Dims.Text(first)}", out error);
            long total = 0;
            for (int t = 0; t < inputs.Count; t++)
            {
                var s = inputs[t];
                if (s.Length != first.Length) return Fail($"tensor {t} {Dims.Text(s)} has {s.Length} axes, tensor 0 {Dims.Text(first)} has {first.Length}", out error);
                for (int i = 0; i < s.Length; i++)
                {
                    if (i == axis) continue;
                    if (s[i] != first[i]) return Fail($"tensor {t} {Dims.Text(s)} differs from tensor 0 {Dims.Text(first)} on axis {i}, which is not the concatenation axis {axis}", out error);
                }
                if (s[axis].Dynamic) return Fail($"cannot concatenate along the batch axis of {Dims.Text(s)}", out error);
                total += s[axis].Value;
            }
            var r = (Dim[])first.Clone();
            r[axis] = Dim.Static(total);
            return r;
        }

        public override ViewRead Read(ViewQuery q)
        {
            int axis = Dims.Axis(q.Attributes.Int("axis"), q.Output.Length);
            var pieces = new List<ViewPiece>();
            long offset = 0;
            for (int t = 0; t < q.Inputs.Count; t++)
            {
                long size = q.Inputs[t][axis].Value;
                var index = (IndexExpr[])q.Index.Clone();
                index[axis] = q.Algebra.Add(index[axis], -offset);
                pieces.Add(new ViewPiece(t, index, q.Inputs.Count == 1 ? new IndexBound[0] : new[] { new IndexBound(q.Index[axis], offset, offset + size) }));
                offset += size;
            }
            return new ViewRead(pieces, 0);
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            int axis = Dims.Axis(attributes.Int("axis"), outShape.Length);
            long at = outIndex[axis];
            for (int t = 0; t < inputs.Count; t++)
            {
                if (at < inputs[t].Shape[axis])
                {
                    var index = (long[])outIndex.Clone();
                    index[axis] = at;
                    return (t, index);
                }
                at -= inputs[t].Shape[axis];
            }
            return (0, null);
        }
    }
}
