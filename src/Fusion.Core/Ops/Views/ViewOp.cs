using System;
using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// An operator that moves elements without computing: each output element reads one element of an input (or, for pad
    /// and concat, one of several pieces or a constant). <see cref="Read"/> gives that read as index expressions of the
    /// output index, so the lowering composes views into the loads of the kernel that consumes them: a chain of
    /// reshapes, permutes and rolls costs no pass over memory of its own.
    /// </summary>
    internal abstract class ViewOp(string name, string summary) : OpDescriptor(name, summary)
    {
        public override OpClass Class => OpClass.View;

        public override IReadOnlyList<string> Operands => new[] { "x" };

        /// <summary>
        /// Every input element appears exactly once in the output (reshape, permute, roll, window layouts): a value computed
        /// behind such views can be stored from the kernel that reads it through them.
        /// </summary>
        public virtual bool Bijective => true;

        /// <summary>What output element <paramref name="index"/> reads.</summary>
        public abstract ViewRead Read(ViewQuery query);

        /// <summary>
        /// Where input element <c>query.Index</c> lands in the output (the inverse of <see cref="Read"/>, for a bijective view), or null
        /// where the view does not say: a GEMM epilogue that computes over the GEMM's own index stores its result through such views
        /// (a Swin block's window reverse and roll after its output projection), at the index this gives.
        /// </summary>
        public virtual IndexExpr[]? Forward(ViewQuery query) => null;

        /// <summary>Whether <see cref="Forward"/> gives an index (the scheduler lets a GEMM epilogue go on through such views only).</summary>
        public virtual bool Forwards => false;

        /// <summary>The input element each output element copies (the float64 reference), written with plain integers.</summary>
        protected abstract (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes);

        /// <summary>The value of output elements that read no input (pad); unused by other views.</summary>
        protected virtual double Fill(AttributeSet attributes) => 0;

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes)
        {
            var inShapes = inputs.Select(i => i.Shape.Select(Dim.Static).ToArray()).ToList();
            var shape = InferShape(inShapes, attributes, out var error) ?? throw new ArgumentException(error);
            var y = new RefArray(shape.Select(d => d.Value).ToArray());
            for (long e = 0; e < y.Count; e++)
            {
                var (input, index) = Source(inputs, y.Shape, y.Unravel(e), attributes);
                y.Data[e] = index is null ? Fill(attributes) : inputs[input].Data[inputs[input].Offset(index)];
            }
            return y;
        }
    }

    /// <summary>The shapes, attributes and output index a view is asked about, with the algebra of the kernel being built.</summary>
    internal sealed record ViewQuery(IReadOnlyList<Dim[]> Inputs, Dim[] Output, AttributeSet Attributes, IndexExpr[] Index, IndexAlgebra Algebra);

    /// <summary>One place an output element may come from: input <see cref="Input"/> at <see cref="Index"/> where every bound in <see cref="When"/> holds.</summary>
    internal sealed record ViewPiece(int Input, IndexExpr[] Index, IndexBound[] When);

    /// <summary>The pieces of a view's read (exactly one holds for each element) and the value where none does.</summary>
    internal sealed record ViewRead(IReadOnlyList<ViewPiece> Pieces, double Otherwise)
    {
        public static ViewRead One(IndexExpr[] index) => new(new[] { new ViewPiece(0, index, Array.Empty<IndexBound>()) }, 0);
    }

    /// <summary>Row-major index arithmetic on shapes that may carry the batch.</summary>
    internal static class Layout
    {
        /// <summary>A dimension as an index expression (a multiple of N when dynamic).</summary>
        public static IndexExpr Size(Dim d, IndexAlgebra a) => d.Dynamic ? a.Scale(IndexExpr.Batch, d.Value) : IndexExpr.Const(d.Value);

        public static IndexExpr[] Strides(IReadOnlyList<Dim> shape, IndexAlgebra a)
        {
            var strides = new IndexExpr[shape.Count];
            var step = IndexExpr.Const(1);
            for (int i = shape.Count - 1; i >= 0; i--)
            {
                strides[i] = step;
                step = a.Multiply(step, Size(shape[i], a));
            }
            return strides;
        }

        /// <summary>The row-major offset of <paramref name="index"/> in <paramref name="shape"/>.</summary>
        public static IndexExpr Offset(IReadOnlyList<IndexExpr> index, IReadOnlyList<Dim> shape, IndexAlgebra a)
        {
            var strides = Strides(shape, a);
            var o = IndexExpr.Zero;
            for (int i = 0; i < index.Count; i++) o = a.Add(o, a.Multiply(index[i], strides[i]));
            return o;
        }

        /// <summary>The multi-index in <paramref name="shape"/> of a row-major offset.</summary>
        public static IndexExpr[] Unravel(IndexExpr flat, IReadOnlyList<Dim> shape, IndexAlgebra a)
        {
            var strides = Strides(shape, a);
            var index = new IndexExpr[shape.Count];
            for (int i = 0; i < shape.Count; i++)
            {
                var q = a.Div(flat, strides[i]);
                index[i] = i == 0 ? q : a.Mod(q, Size(shape[i], a));
            }
            return index;
        }
    }
}
