using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly ReshapeOp Reshape = new();

        public static readonly FlattenOp Flatten = new();
    }

    /// <summary>Same elements, new shape; one requested dimension may be −1 (inferred; it carries the batch when the input does).</summary>
    internal sealed class ReshapeOp() : ViewOp("Reshape", "same elements in a new shape (one dimension may be −1)")
    {
        public override string ShapeRule => "`shape`, its one −1 inferred (carrying the batch when x does)";

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error) =>
            Resolve(inputs[0], attributes.Ints("shape"), out error);

        public override ViewRead Read(ViewQuery q) => Reflow(q);

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes) =>
            Flat(inputs[0], outShape, outIndex);

        /// <summary>The input index of a same-order relayout: the output's row-major offset unraveled in the input's shape.</summary>
        public static ViewRead Reflow(ViewQuery q) =>
            ViewRead.One(Layout.Unravel(Layout.Offset(q.Index, q.Output, q.Algebra), q.Inputs[0], q.Algebra));

        public static (int, long[]?) Flat(RefArray input, long[] outShape, long[] outIndex)
        {
            long flat = 0;
            for (int i = 0; i < outShape.Length; i++) flat = flat * outShape[i] + outIndex[i];
            return (0, input.Unravel(flat));
        }

        public static Dim[]? Resolve(Dim[] a, long[] requested, out string? error)
        {
            error = null;
            long total = 1;
            bool dynamic = false;
            foreach (var d in a)
            {
                total *= d.Value;
                dynamic |= d.Dynamic;
            }
            int inferred = -1;
            long known = 1;
            string text = "[" + string.Join(", ", requested) + "]";
            for (int i = 0; i < requested.Length; i++)
            {
                if (requested[i] == -1)
                {
                    if (inferred >= 0) return Fail($"{text} has more than one -1", out error);
                    inferred = i;
                }
                else if (requested[i] <= 0) return Fail($"{text} has a dimension ≤ 0 other than -1", out error);
                else known *= requested[i];
            }
            var result = requested.Select(d => Dim.Static(d)).ToArray();
            if (inferred < 0)
            {
                if (dynamic) return Fail($"{Dims.Text(a)} carries the batch; use -1 for the dimension that holds it", out error);
                if (known != total) return Fail($"{Dims.Text(a)} has {total} elements, {text} has {known}", out error);
                return result;
            }
            if (total % known != 0)
                return Fail($"{Dims.Text(a)} ({(dynamic ? total + "·N" : total.ToString())} elements) does not divide into {text}", out error);
            result[inferred] = new Dim(total / known, dynamic);
            return result;
        }
    }

    /// <summary>Axes start … end (inclusive, negative counts from the end) merged into one.</summary>
    internal sealed class FlattenOp() : ViewOp("Flatten", "axes start … end merged into one")
    {
        public override string ShapeRule => "x with axes `start` … `end` (inclusive) merged into their product";

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            int start = Dims.Axis(attributes.IntOr("start", 1), a.Length), end = Dims.Axis(attributes.IntOr("end", -1), a.Length);
            if (start < 0 || end < 0 || end < start) return Fail($"axes {attributes.IntOr("start", 1)} … {attributes.IntOr("end", -1)} are not a range of {Dims.Text(a)}", out error);
            var merged = Dims.Product(a.Skip(start).Take(end - start + 1));
            if (merged is null) return Fail($"{Dims.Text(a)} has two dynamic axes in the range", out error);
            return a.Take(start).Concat(new[] { merged.Value }).Concat(a.Skip(end + 1)).ToArray();
        }

        public override ViewRead Read(ViewQuery q) => ReshapeOp.Reflow(q);

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes) =>
            ReshapeOp.Flat(inputs[0], outShape, outIndex);
    }
}
