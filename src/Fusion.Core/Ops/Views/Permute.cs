using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly PermuteOp Permute = new();

        public static readonly TransposeOp Transpose = new();
    }

    /// <summary>Reorders axes: output axis i is input axis axes[i].</summary>
    internal sealed class PermuteOp() : ViewOp("Permute", "axes reordered: output axis i is input axis axes[i]")
    {
        public override string ShapeRule => "x's axes in the order `axes`";

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            var axes = attributes.Ints("axes");
            if (axes.Length != a.Length || !axes.Select(x => Dims.Axis(x, a.Length)).OrderBy(x => x).SequenceEqual(Enumerable.Range(0, a.Length)))
                return Fail($"[{string.Join(", ", axes)}] is not a permutation of the {a.Length} axes of {Dims.Text(a)}", out error);
            return axes.Select(x => a[Dims.Axis(x, a.Length)]).ToArray();
        }

        public override ViewRead Read(ViewQuery q) => ViewRead.One(Apply(q.Index, q.Attributes.Ints("axes")));

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            var axes = attributes.Ints("axes");
            var index = new long[outIndex.Length];
            for (int i = 0; i < axes.Length; i++) index[Dims.Axis(axes[i], axes.Length)] = outIndex[i];
            return (0, index);
        }

        private static IndexExpr[] Apply(IndexExpr[] outIndex, long[] axes)
        {
            var index = new IndexExpr[outIndex.Length];
            for (int i = 0; i < axes.Length; i++) index[Dims.Axis(axes[i], axes.Length)] = outIndex[i];
            return index;
        }
    }

    /// <summary>Swaps two axes.</summary>
    internal sealed class TransposeOp() : ViewOp("Transpose", "two axes swapped")
    {
        public override string ShapeRule => "x with axes `dim0` and `dim1` swapped";

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            if (Axes(a.Length, attributes) is not var (i, j)) return Fail($"axes {attributes.Int("dim0")} and {attributes.Int("dim1")} are outside {Dims.Text(a)}", out error);
            var r = (Dim[])a.Clone();
            (r[i], r[j]) = (r[j], r[i]);
            return r;
        }

        public override ViewRead Read(ViewQuery q)
        {
            var (i, j) = Axes(q.Output.Length, q.Attributes)!.Value;
            var index = (IndexExpr[])q.Index.Clone();
            (index[i], index[j]) = (index[j], index[i]);
            return ViewRead.One(index);
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            var (i, j) = Axes(outShape.Length, attributes)!.Value;
            var index = (long[])outIndex.Clone();
            (index[i], index[j]) = (index[j], index[i]);
            return (0, index);
        }

        private static (int, int)? Axes(int rank, AttributeSet attributes)
        {
            int i = Dims.Axis(attributes.Int("dim0"), rank), j = Dims.Axis(attributes.Int("dim1"), rank);
            return i < 0 || j < 0 ? null : (i, j);
        }
    }
}
