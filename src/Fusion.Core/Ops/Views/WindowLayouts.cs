using System.Collections.Generic;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly WindowPartitionOp WindowPartition = new();

        public static readonly WindowReverseOp WindowReverse = new();

        public static readonly PatchMergingOp PatchMerging = new();

        public static readonly PatchifyOp Patchify = new();
    }

    /// <summary>[B, H, W, C] → [B·(H/w)·(W/w), w·w, C]: non-overlapping w×w windows, row-major over windows and tokens.</summary>
    internal sealed class WindowPartitionOp() : ViewOp("WindowPartition", "[B, H, W, C] → [B·nW, w², C] windows")
    {
        public override string ShapeRule => "[B, H, W, C] → [B·(H/w)·(W/w), w·w, C] (w = `window`)";

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            long w = attributes.Int("window");
            if (a.Length != 4 || a[1].Dynamic || a[2].Dynamic || w <= 0 || a[1].Value % w != 0 || a[2].Value % w != 0)
                return Fail($"expects [B, H, W, C] with H and W multiples of the window {w}, got {Dims.Text(a)}", out error);
            long windows = a[1].Value / w * (a[2].Value / w);
            return new[] { new Dim(a[0].Value * windows, a[0].Dynamic), Dim.Static(w * w), a[3] };
        }

        public override ViewRead Read(ViewQuery q)
        {
            var a = q.Algebra;
            var image = q.Inputs[0];
            long w = q.Attributes.Int("window"), across = image[2].Value / w, windows = image[1].Value / w * across;
            var window = a.Mod(q.Index[0], windows);
            var token = q.Index[1];
            return ViewRead.One(new[]
            {
                a.Div(q.Index[0], windows),
                a.Add(a.Scale(a.Div(window, across), w), a.Div(token, w)),
                a.Add(a.Scale(a.Mod(window, across), w), a.Mod(token, w)),
                q.Index[2],
            });
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            var s = inputs[0].Shape;
            long w = attributes.Int("window"), across = s[2] / w, windows = s[1] / w * across;
            long b = outIndex[0] / windows, win = outIndex[0] % windows, t = outIndex[1];
            return (0, new[] { b, win / across * w + t / w, win % across * w + t % w, outIndex[2] });
        }
    }

    /// <summary>Inverse of WindowPartition: [B·nW, w², C] → [B, H, W, C].</summary>
    internal sealed class WindowReverseOp() : ViewOp("WindowReverse", "[B·nW, w², C] → [B, H, W, C], inverse of WindowPartition")
    {
        public override string ShapeRule => "[B·(H/w)·(W/w), w·w, C] → [B, H, W, C] (w, H, W = `window`, `height`, `width`)";

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            long w = attributes.Int("window"), h = attributes.Int("height"), wd = attributes.Int("width");
            long windows = w > 0 && h % w == 0 && wd % w == 0 ? h / w * (wd / w) : 0;
            if (a.Length != 3 || windows == 0 || a[1] != Dim.Static(w * w) || a[0].Value % windows != 0)
                return Fail($"expects [B·{(windows == 0 ? "?" : windows.ToString())}, {w * w}, C] for a {h}×{wd} image in {w}×{w} windows, got {Dims.Text(a)}", out error);
            return new[] { new Dim(a[0].Value / windows, a[0].Dynamic), Dim.Static(h), Dim.Static(wd), a[2] };
        }

        public override ViewRead Read(ViewQuery q)
        {
            var a = q.Algebra;
            long w = q.Attributes.Int("window"), across = q.Output[2].Value / w, windows = q.Output[1].Value / w * across;
            var (b, i, j) = (q.Index[0], q.Index[1], q.Index[2]);
            return ViewRead.One(new[]
            {
                a.Add(a.Scale(b, windows), a.Add(a.Scale(a.Div(i, w), across), a.Div(j, w))),
                a.Add(a.Scale(a.Mod(i, w), w), a.Mod(j, w)),
                q.Index[3],
            });
        }

        public override bool Forwards => true;

        /// <summary>Window token (window, t) of image b lands at row (window / across)·w + t / w, column (window % across)·w + t % w: WindowPartition's read.</summary>
        public override IndexExpr[]? Forward(ViewQuery q)
        {
            var a = q.Algebra;
            long w = q.Attributes.Int("window"), across = q.Output[2].Value / w, windows = q.Output[1].Value / w * across;
            var window = a.Mod(q.Index[0], windows);
            var token = q.Index[1];
            return new[]
            {
                a.Div(q.Index[0], windows),
                a.Add(a.Scale(a.Div(window, across), w), a.Div(token, w)),
                a.Add(a.Scale(a.Mod(window, across), w), a.Mod(token, w)),
                q.Index[2],
            };
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            long w = attributes.Int("window"), across = outShape[2] / w, windows = outShape[1] / w * across;
            long b = outIndex[0], i = outIndex[1], j = outIndex[2];
            return (0, new[] { b * windows + i / w * across + j / w, i % w * w + j % w, outIndex[3] });
        }
    }

    /// <summary>[B, H, W, C] → [B, H/2, W/2, 4C], channel blocks ordered (0,0), (1,0), (0,1), (1,1) by (row, column) offset, like timm.</summary>
    internal sealed class PatchMergingOp() : ViewOp("PatchMerging", "[B, H, W, C] → [B, H/2, W/2, 4C] (timm's 2×2 merge order)")
    {
        public override string ShapeRule => "[B, H, W, C] → [B, H/2, W/2, 4·C]";

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            if (a.Length != 4 || a[1].Dynamic || a[2].Dynamic || a[1].Value % 2 != 0 || a[2].Value % 2 != 0 || a[3].Dynamic)
                return Fail($"expects [B, H, W, C] with even H and W, got {Dims.Text(a)}", out error);
            return new[] { a[0], Dim.Static(a[1].Value / 2), Dim.Static(a[2].Value / 2), Dim.Static(a[3].Value * 4) };
        }

        public override ViewRead Read(ViewQuery q)
        {
            var a = q.Algebra;
            long c = q.Inputs[0][3].Value;
            var block = a.Div(q.Index[3], c);
            return ViewRead.One(new[]
            {
                q.Index[0],
                a.Add(a.Scale(q.Index[1], 2), a.Mod(block, 2)),
                a.Add(a.Scale(q.Index[2], 2), a.Div(block, 2)),
                a.Mod(q.Index[3], c),
            });
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            long c = inputs[0].Shape[3], block = outIndex[3] / c;
            return (0, new[] { outIndex[0], 2 * outIndex[1] + block % 2, 2 * outIndex[2] + block / 2, outIndex[3] % c });
        }
    }

    /// <summary>[B, C, H, W] → [B, H/p, W/p, C·p·p], patch elements ordered (c, kh, kw) to match a Conv2d weight [out, C, p, p].</summary>
    internal sealed class PatchifyOp() : ViewOp("Patchify", "[B, C, H, W] → [B, H/p, W/p, C·p²] non-overlapping patches")
    {
        public override string ShapeRule => "[B, C, H, W] → [B, H/p, W/p, C·p·p] (p = `patch`)";

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            long p = attributes.Int("patch");
            if (a.Length != 4 || p <= 0 || a[2].Dynamic || a[3].Dynamic || a[1].Dynamic || a[2].Value % p != 0 || a[3].Value % p != 0)
                return Fail($"expects [B, C, H, W] with H and W multiples of the patch {p}, got {Dims.Text(a)}", out error);
            return new[] { a[0], Dim.Static(a[2].Value / p), Dim.Static(a[3].Value / p), Dim.Static(a[1].Value * p * p) };
        }

        public override ViewRead Read(ViewQuery q)
        {
            var a = q.Algebra;
            long p = q.Attributes.Int("patch");
            var e = q.Index[3];
            return ViewRead.One(new[]
            {
                q.Index[0],
                a.Div(e, p * p),
                a.Add(a.Scale(q.Index[1], p), a.Mod(a.Div(e, p), p)),
                a.Add(a.Scale(q.Index[2], p), a.Mod(e, p)),
            });
        }

        protected override (int Input, long[]? Index) Source(IReadOnlyList<RefArray> inputs, long[] outShape, long[] outIndex, AttributeSet attributes)
        {
            long p = attributes.Int("patch"), e = outIndex[3];
            return (0, new[] { outIndex[0], e / (p * p), outIndex[1] * p + e / p % p, outIndex[2] * p + e % p });
        }
    }
}
