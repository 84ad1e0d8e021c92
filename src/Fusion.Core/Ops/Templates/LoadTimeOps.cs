using System;
using System.Collections.Generic;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly RelativePositionBiasOp RelativePositionBias = new();

        public static readonly ShiftedWindowMaskOp ShiftedWindowMask = new();

        public static readonly QkvRelayoutOp QkvRelayout = new();
    }

    /// <summary>Swin's relative position bias table [(2w−1)², heads] gathered into [heads, w², w²] (built once at load).</summary>
    internal sealed class RelativePositionBiasOp() : OpDescriptor("RelativePositionBias", "Swin's bias table gathered to [heads, w², w²]")
    {
        public override OpClass Class => OpClass.LoadTime;

        public override string ShapeRule => "table [(2w−1)², heads] → [heads, w·w, w·w] (w = `window`)";

        public override int Translate(IOpCall call) =>
            call.Add(Name, new[] { call.LayerParameter("") }, call.ConstantAttributes());

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> x, AttributeSet attributes, out string? error)
        {
            error = null;
            var t = x[0];
            long w = attributes.Int("window"), size = (2 * w - 1) * (2 * w - 1);
            if (t.Length != 2 || t[0] != Dim.Static(size)) return Fail($"a window of {w} needs a table of [{size}, heads], got {Dims.Text(t)}", out error);
            return new[] { t[1], Dim.Static(w * w), Dim.Static(w * w) };
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes)
        {
            var table = inputs[0];
            long w = attributes.Int("window"), heads = table.Shape[1], n = w * w;
            var y = new RefArray(new[] { heads, n, n });
            for (long h = 0; h < heads; h++)
                for (long i = 0; i < n; i++)
                    for (long j = 0; j < n; j++)
                    {
                        long row = (i / w - j / w + w - 1) * (2 * w - 1) + (i % w - j % w + w - 1);
                        y.Data[(h * n + i) * n + j] = table.Data[row * heads + h];
                    }
            return y;
        }
    }

    /// <summary>The shifted-window attention mask [nW, w², w²]: 0 where two tokens come from the same region, −100 elsewhere.</summary>
    internal sealed class ShiftedWindowMaskOp() : OpDescriptor("ShiftedWindowMask", "Swin's shifted-window mask [nW, w², w²]")
    {
        public override OpClass Class => OpClass.LoadTime;

        public override string ShapeRule => "[(H/w)·(W/w), w·w, w·w] (H, W, w = `height`, `width`, `window`)";

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> x, AttributeSet attributes, out string? error)
        {
            error = null;
            long h = attributes.Int("height"), wd = attributes.Int("width"), w = attributes.Int("window"), s = attributes.Int("shift");
            if (w <= 0 || h % w != 0 || wd % w != 0 || s < 0 || s >= w)
                return Fail($"a {h}×{wd} image does not split into {w}×{w} windows with shift {s} (need 0 ≤ shift < window)", out error);
            return new[] { Dim.Static(h / w * (wd / w)), Dim.Static(w * w), Dim.Static(w * w) };
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes)
        {
            long h = attributes.Int("height"), wd = attributes.Int("width"), w = attributes.Int("window"), s = attributes.Int("shift");
            long across = wd / w, windows = h / w * across, n = w * w;
            // Regions of the rolled image: rows [0, h−w), [h−w, h−s), [h−s, h) and the same for columns.
            long Region(long i, long size) => s == 0 || i < size - w ? 0 : i < size - s ? 1 : 2;
            var y = new RefArray(new[] { windows, n, n });
            for (long win = 0; win < windows; win++)
                for (long a = 0; a < n; a++)
                    for (long b = 0; b < n; b++)
                    {
                        long ra = Region(win / across * w + a / w, h) * 3 + Region(win % across * w + a % w, wd);
                        long rb = Region(win / across * w + b / w, h) * 3 + Region(win % across * w + b % w, wd);
                        y.Data[(win * n + a) * n + b] = ra == rb ? 0 : -100;
                    }
            return y;
        }
    }

    /// <summary>
    /// A qkv Linear's weight [3·heads·d, K] or bias [3·heads·d] re-laid out so the projection writes (heads, 3, d) per token:
    /// out row (h·3 + s)·d + i = in row (s·heads + h)·d + i. Inserted by the attention pattern, built once at load.
    /// </summary>
    internal sealed class QkvRelayoutOp() : OpDescriptor("QkvRelayout", "a QKV projection's rows re-laid out to (heads, 3, d)")
    {
        public override OpClass Class => OpClass.LoadTime;

        public override string ShapeRule => "x's shape: a weight [3·heads·d, K] or bias [3·heads·d]";

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> x, AttributeSet attributes, out string? error)
        {
            error = null;
            long heads = attributes.Int("heads");
            if (x[0].Length < 1 || x[0].Length > 2 || x[0][0].Dynamic || x[0][0].Value % (3 * heads) != 0)
                return Fail($"{Dims.Text(x[0])} is not a [3·heads·d, …] projection weight or bias for {heads} heads", out error);
            return x[0];
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes)
        {
            var x = inputs[0];
            long heads = attributes.Int("heads"), rows = x.Shape[0], d = rows / (3 * heads), width = x.Count / rows;
            var y = new RefArray((long[])x.Shape.Clone());
            for (long h = 0; h < heads; h++)
                for (long s = 0; s < 3; s++)
                    for (long i = 0; i < d; i++)
                        Array.Copy(x.Data, ((s * heads + h) * d + i) * width, y.Data, ((h * 3 + s) * d + i) * width, width);
            return y;
        }
    }
}
