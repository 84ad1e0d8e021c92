using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly SelectOp Select = new();

        public static readonly SliceOp Slice = new();

        public static readonly NarrowOp Narrow = new();

        public static readonly ExpandOp Expand = new();

        public static readonly ExpandAsOp ExpandAs = new();
    }

    /// <summary>Index <c>index</c> along <c>axis</c>, which is removed.</summary>
    internal sealed class SelectOp() : ViewOp("Select", "one index along an axis, which is removed")
    {
        public override string ShapeRule => "x without axis `axis`";

        public override bool Bijective => false;

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            int axis = Dims.Axis(attributes.Int("axis"), a.Length);
            long index = attributes.Int("index");
            if (axis < 0) return Fail($"axis {attributes.Int("axis")} is outside {Dims.Text(a)}", out error);
            if (a[axis].Dynamic) return Fail($"cannot select along the batch axis of {Dims.Text(a)}", out error);
            if (index < 0 || index >= a[axis].Value) return Fail($"index {index} is outside axis {axis} of size {a[axis]}", out error);
            return a.Where((_, i) => i != axis).ToArray();
        }

        public override ViewRead Read(ViewQuery q)
        {
            int axis = Dims.Axis(q.Attributes.Int("axis"), q.Inputs[0].Length);
            var index = q.Index.ToList();
            index.Insert(axis, IndexExpr.Const(q.Attributes.Int("index")));
            return ViewRead.One(index.ToArray());
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            int axis = Dims.Axis(attributes.Int("axis"), inputs[0].Rank);
            var index = outIndex.ToList();
            index.Insert(axis, attributes.Int("index"));
            return (0, index.ToArray());
        }
    }

    /// <summary>
    /// Elements start, start + step, … below end along <c>axis</c> (Python slicing with a positive step; negative start and end count
    /// from the end and both are clamped), or with <c>strict</c> = 1 (how Narrow is written) a range that must lie inside the axis.
    /// </summary>
    internal sealed class SliceOp() : ViewOp("Slice", "x[start:end:step] along one axis")
    {
        public override string ShapeRule => "x with ⌈(`end` − `start`) / `step`⌉ elements along `axis` (`start`, `end` clamped like Python)";

        public override bool Bijective => false;

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            int axis = Dims.Axis(attributes.Int("axis"), a.Length);
            if (axis < 0) return Fail($"axis {attributes.Int("axis")} is outside {Dims.Text(a)}", out error);
            if (a[axis].Dynamic) return Fail($"cannot slice the batch axis of {Dims.Text(a)}", out error);
            if (attributes.IntOr("strict", 0) != 0 && (attributes.Int("start") < 0 || attributes.Int("end") > a[axis].Value))
                return Fail($"{attributes.Int("end") - attributes.Int("start")} elements from {attributes.Int("start")} run past axis {axis} of size {a[axis]} (Narrow does not clamp)", out error);
            var (start, count, step) = Range(a[axis].Value, attributes);
            if (step <= 0) return Fail($"the step {step} must be positive", out error);
            if (count <= 0) return Fail($"start {attributes.Int("start")} and end {attributes.Int("end")} select nothing of axis {axis} (size {a[axis]})", out error);
            var r = (Dim[])a.Clone();
            r[axis] = Dim.Static(count);
            return r;
        }

        /// <summary>Start, element count and step, with negative start/end counted from the end and clamped like Python.</summary>
        public static (long Start, long Count, long Step) Range(long size, AttributeSet attributes)
        {
            long step = attributes.IntOr("step", 1);
            long start = attributes.Int("start"), end = attributes.Int("end");
            if (start < 0) start += size;
            if (end < 0) end += size;
            start = System.Math.Min(System.Math.Max(start, 0), size);
            end = System.Math.Min(System.Math.Max(end, 0), size);
            long count = step <= 0 || end <= start ? 0 : (end - start + step - 1) / step;
            return (start, count, step);
        }

        public override ViewRead Read(ViewQuery q)
        {
            int axis = Dims.Axis(q.Attributes.Int("axis"), q.Inputs[0].Length);
            var (start, _, step) = Range(q.Inputs[0][axis].Value, q.Attributes);
            var index = (IndexExpr[])q.Index.Clone();
            index[axis] = q.Algebra.Add(q.Algebra.Scale(index[axis], step), start);
            return ViewRead.One(index);
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            int axis = Dims.Axis(attributes.Int("axis"), inputs[0].Rank);
            var (start, _, step) = Range(inputs[0].Shape[axis], attributes);
            var index = (long[])outIndex.Clone();
            index[axis] = start + outIndex[axis] * step;
            return (0, index);
        }
    }

    /// <summary>torch.narrow: <c>length</c> elements from <c>start</c> along <c>axis</c>; the front end writes it as a Slice.</summary>
    internal sealed class NarrowOp() : ViewOp("Narrow", "length elements from start along an axis (a Slice)")
    {
        public override string ShapeRule => "x with `length` elements along `axis`";

        public override int Translate(IOpCall call)
        {
            var a = call.ConstantAttributes();
            var slice = AsSlice(a.Int("axis"), a.Int("start"), a.Int("length"), out var error);
            return slice is { } attributes ? call.Add(Ops.Slice.Name, call.Tensors, attributes) : call.Fail(error!);
        }

        /// <summary>The strict Slice's attributes for narrow(axis, start, length) (the F method and the front end both write it so), or null with why not.</summary>
        public static AttributeSet? AsSlice(long axis, long start, long length, out string? error)
        {
            error = start < 0 || length <= 0 ? $"Narrow needs start ≥ 0 and length > 0, got start {start} and length {length}" : null;
            return error is not null ? null : AttributeSet.Of(OpAttribute.Int("axis", axis), OpAttribute.Int("start", start),
                OpAttribute.Int("end", start + length), OpAttribute.Int("step", 1), OpAttribute.Int("strict", 1));
        }

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error) =>
            Ops.Slice.InferShape(inputs, attributes, out error);

        public override ViewRead Read(ViewQuery q) => Ops.Slice.Read(q);

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes) =>
            throw new System.InvalidOperationException("Narrow is translated to Slice");

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes) =>
            Ops.Slice.Reference(inputs, attributes.With(OpAttribute.Int("end", attributes.Int("start") + attributes.Int("length"))));
    }

    /// <summary>Size-1 axes repeated to <c>shape</c> (−1 keeps an axis; new leading axes may be added), like torch.expand.</summary>
    internal sealed class ExpandOp() : ViewOp("Expand", "size-1 axes repeated to a larger shape")
    {
        public override string ShapeRule => "`shape` (−1 keeps x's axis; x's size-1 axes grow, new leading axes may be added)";

        public override bool Bijective => false;

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            var target = attributes.Ints("shape");
            if (target.Length < a.Length) return Fail($"[{string.Join(", ", target)}] has fewer axes than {Dims.Text(a)}", out error);
            int shift = target.Length - a.Length;
            var r = new Dim[target.Length];
            for (int i = 0; i < target.Length; i++)
            {
                var own = i < shift ? (Dim?)null : a[i - shift];
                if (target[i] == -1)
                {
                    if (own is null) return Fail($"a new axis {i} cannot be -1", out error);
                    r[i] = own.Value;
                }
                else if (target[i] <= 0) return Fail($"axis {i} of [{string.Join(", ", target)}] must be positive or -1", out error);
                else if (own is null || own.Value == Dim.One || own.Value == Dim.Static(target[i])) r[i] = Dim.Static(target[i]);
                else return Fail($"axis {i} of {Dims.Text(a)} is {own.Value}, not 1, so it cannot become {target[i]}", out error);
            }
            return r;
        }

        public override ViewRead Read(ViewQuery q)
        {
            var a = q.Inputs[0];
            int shift = q.Output.Length - a.Length;
            var index = new IndexExpr[a.Length];
            for (int i = 0; i < a.Length; i++) index[i] = a[i] == Dim.One && q.Output[i + shift] != Dim.One ? IndexExpr.Zero : q.Index[i + shift];
            return ViewRead.One(index);
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            var a = inputs[0].Shape;
            int shift = outShape.Length - a.Length;
            return (0, a.Select((d, i) => d == 1 ? 0 : outIndex[i + shift]).ToArray());
        }
    }
}

namespace Fusion.Compiler
{
    /// <summary>
    /// x broadcast to the shape of <c>like</c> (torch's expand_as): the way to repeat a parameter over the batch, e.g. a class token
    /// [1, 1, C] as [N, 1, C]. Only x is read.
    /// </summary>
    internal sealed class ExpandAsOp() : ViewOp("ExpandAs", "x broadcast to the shape of another tensor (expand_as)")
    {
        public override string ShapeRule => "`like`'s shape (x's axes, aligned at the end, are 1 or equal to like's)";

        public override bool Bijective => false;

        public override IReadOnlyList<string> Operands => new[] { "x", "like" };

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var (x, like) = (inputs[0], inputs[1]);
            if (x.Length > like.Length) return Fail($"{Dims.Text(x)} has more axes than {Dims.Text(like)}", out error);
            int shift = like.Length - x.Length;
            for (int i = 0; i < x.Length; i++)
                if (x[i] != Dim.One && x[i] != like[i + shift])
                    return Fail($"axis {i} of {Dims.Text(x)} is {x[i]}, neither 1 nor the {like[i + shift]} of {Dims.Text(like)}", out error);
            return like;
        }

        public override ViewRead Read(ViewQuery q)
        {
            var x = q.Inputs[0];
            int shift = q.Output.Length - x.Length;
            var index = new IndexExpr[x.Length];
            for (int i = 0; i < x.Length; i++) index[i] = x[i] == Dim.One && q.Output[i + shift] != Dim.One ? IndexExpr.Zero : q.Index[i + shift];
            return ViewRead.One(index);
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            var a = inputs[0].Shape;
            int shift = outShape.Length - a.Length;
            return (0, a.Select((d, i) => d == 1 ? 0 : outIndex[i + shift]).ToArray());
        }
    }
}
