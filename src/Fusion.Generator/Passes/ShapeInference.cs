using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Diagnostics;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Infers every value's shape (static dimensions plus the dynamic batch) and reports operands
    /// that cannot fit together as FUS004 at the call that receives them. A node whose shape
    /// cannot be inferred poisons its users silently, so each mistake is reported once.
    /// </summary>
    internal static class ShapeInference
    {
        public static ModelGraph Run(ModelGraph graph)
        {
            if (graph.Nodes.Count == 0) return graph;
            var shapes = new Dim[]?[graph.Nodes.Count];
            var diagnostics = new List<DiagnosticInfo>(graph.Diagnostics);
            var nodes = new List<Node>();
            foreach (var node in graph.Nodes)
            {
                var inputs = node.Inputs.Select(i => shapes[i]).ToArray();
                if (inputs.Any(s => s is null))
                {
                    nodes.Add(node);
                    continue;
                }
                var shape = Infer(node, inputs!, out var error);
                if (shape is null)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ShapeMismatch, node.Location, node.Source, error!));
                    nodes.Add(node);
                    continue;
                }
                shapes[node.Id] = shape;
                nodes.Add(node with { Shape = shape.ToEquatableArray() });
            }
            return graph with { Nodes = nodes.ToEquatableArray(), Diagnostics = diagnostics.ToEquatableArray() };
        }

        private static Dim[]? Infer(Node node, Dim[][] x, out string? error)
        {
            error = null;
            var ints = node.Ints;
            switch (node.Op)
            {
                case OpKind.Input:
                    return ints.Select(d => d == -1 ? Dim.Batch() : Dim.Static(d)).ToArray();
                case OpKind.Param:
                    return ints.Select(d => Dim.Static(d)).ToArray();
                case OpKind.Linear:
                    {
                        var (a, w) = (x[0], x[1]);
                        if (a.Length < 1) return Fail("the input has no feature axis", out error);
                        if (w.Length != 2 || a[a.Length - 1] != w[1])
                            return Fail($"input {Text(a)} has {a[a.Length - 1]} features but the weight is {Text(w)} (out, in)", out error);
                        if (x.Length > 2 && (x[2].Length != 1 || x[2][0] != w[0]))
                            return Fail($"bias {Text(x[2])} does not match the weight's {w[0]} outputs", out error);
                        return WithLast(a, w[0]);
                    }
                case OpKind.MatMul:
                    {
                        var (a, b) = (x[0], x[1]);
                        bool tb = ints[0] == 1;
                        if (a.Length < 2 || b.Length < 2) return Fail($"operands {Text(a)} and {Text(b)} need at least 2 dimensions", out error);
                        var k = a[a.Length - 1];
                        var kb = tb ? b[b.Length - 1] : b[b.Length - 2];
                        var n = tb ? b[b.Length - 2] : b[b.Length - 1];
                        if (k != kb) return Fail($"inner dimensions differ: {Text(a)} · {Text(b)}{(tb ? "ᵀ" : "")}", out error);
                        var leadA = a.Take(a.Length - 2).ToArray();
                        var leadB = b.Take(b.Length - 2).ToArray();
                        if (leadB.Length > 0 && !leadA.SequenceEqual(leadB))
                            return Fail($"batch dimensions differ: {Text(a)} and {Text(b)}", out error);
                        return WithLast(a, n);
                    }
                case OpKind.Add:
                    return Broadcast(x[0], x[1], out error);
                case OpKind.Mul:
                case OpKind.Gelu:
                case OpKind.Relu:
                case OpKind.Softmax:
                    return x[0];
                case OpKind.LayerNorm:
                    {
                        var a = x[0];
                        if (a.Length < 1 || x[1].Length != 1 || x[1][0] != a[a.Length - 1])
                            return Fail($"input {Text(a)} is normalized over its last axis but the weight is {Text(x[1])}", out error);
                        return a;
                    }
                case OpKind.Reshape:
                    return Reshape(x[0], ints, out error);
                case OpKind.Permute:
                    {
                        var a = x[0];
                        if (ints.Count != a.Length || !ints.OrderBy(i => i).SequenceEqual(Enumerable.Range(0, a.Length)))
                            return Fail($"[{string.Join(", ", ints)}] is not a permutation of the {a.Length} axes of {Text(a)}", out error);
                        return ints.Select(i => a[i]).ToArray();
                    }
                case OpKind.Select:
                    {
                        var a = x[0];
                        int axis = Axis(ints[0], a.Length), index = ints[1];
                        if (axis < 0) return Fail($"axis {ints[0]} is outside {Text(a)}", out error);
                        if (a[axis].Dynamic) return Fail($"cannot select along the batch axis of {Text(a)}", out error);
                        if (index < 0 || index >= a[axis].Value) return Fail($"index {index} is outside axis {axis} of size {a[axis]}", out error);
                        return a.Where((_, i) => i != axis).ToArray();
                    }
                case OpKind.Roll:
                    {
                        var a = x[0];
                        foreach (var raw in ints.Skip(1))
                        {
                            int axis = Axis(raw, a.Length);
                            if (axis < 0) return Fail($"axis {raw} is outside {Text(a)}", out error);
                            if (a[axis].Dynamic) return Fail($"cannot roll along the batch axis of {Text(a)}", out error);
                        }
                        return a;
                    }
                case OpKind.WindowPartition:
                    {
                        var a = x[0];
                        int w = ints[0];
                        if (a.Length != 4 || a[1].Dynamic || a[2].Dynamic || w <= 0 || a[1].Value % w != 0 || a[2].Value % w != 0)
                            return Fail($"expects [B, H, W, C] with H and W multiples of the window {w}, got {Text(a)}", out error);
                        long windows = a[1].Value / w * (a[2].Value / w);
                        return new[] { new Dim(a[0].Value * windows, a[0].Dynamic), Dim.Static(w * w), a[3] };
                    }
                case OpKind.WindowReverse:
                    {
                        var a = x[0];
                        int w = ints[0], h = ints[1], wd = ints[2];
                        long windows = w > 0 && h % w == 0 && wd % w == 0 ? (long)(h / w) * (wd / w) : 0;
                        if (a.Length != 3 || windows == 0 || a[1] != Dim.Static(w * w) || a[0].Value % windows != 0)
                            return Fail($"expects [B·{(windows == 0 ? "?" : windows.ToString())}, {w * w}, C] for a {h}×{wd} image in {w}×{w} windows, got {Text(a)}", out error);
                        return new[] { new Dim(a[0].Value / windows, a[0].Dynamic), Dim.Static(h), Dim.Static(wd), a[2] };
                    }
                case OpKind.PatchMerging:
                    {
                        var a = x[0];
                        if (a.Length != 4 || a[1].Dynamic || a[2].Dynamic || a[1].Value % 2 != 0 || a[2].Value % 2 != 0 || a[3].Dynamic)
                            return Fail($"expects [B, H, W, C] with even H and W, got {Text(a)}", out error);
                        return new[] { a[0], Dim.Static(a[1].Value / 2), Dim.Static(a[2].Value / 2), Dim.Static(a[3].Value * 4) };
                    }
                case OpKind.Patchify:
                    {
                        var a = x[0];
                        int p = ints[0];
                        if (a.Length != 4 || p <= 0 || a[2].Dynamic || a[3].Dynamic || a[1].Dynamic || a[2].Value % p != 0 || a[3].Value % p != 0)
                            return Fail($"expects [B, C, H, W] with H and W multiples of the patch {p}, got {Text(a)}", out error);
                        return new[] { a[0], Dim.Static(a[2].Value / p), Dim.Static(a[3].Value / p), Dim.Static(a[1].Value * p * p) };
                    }
                case OpKind.Mean:
                    {
                        var a = x[0];
                        int first = Axis(ints[0], a.Length), count = ints[1];
                        if (first < 0 || first + count > a.Length) return Fail($"axes {ints[0]}..{ints[0] + count - 1} are outside {Text(a)}", out error);
                        if (a.Skip(first).Take(count).Any(d => d.Dynamic)) return Fail($"cannot average over the batch axis of {Text(a)}", out error);
                        return a.Where((_, i) => i < first || i >= first + count).ToArray();
                    }
                case OpKind.RelativePositionBias:
                    {
                        var t = x[0];
                        long w = ints[0], size = (2 * w - 1) * (2 * w - 1);
                        if (t.Length != 2 || t[0] != Dim.Static(size))
                            return Fail($"a window of {w} needs a table of [{size}, heads], got {Text(t)}", out error);
                        return new[] { t[1], Dim.Static(w * w), Dim.Static(w * w) };
                    }
                case OpKind.ShiftedWindowMask:
                    {
                        int h = ints[0], wd = ints[1], w = ints[2], s = ints[3];
                        if (w <= 0 || h % w != 0 || wd % w != 0 || s < 0 || s >= w)
                            return Fail($"a {h}×{wd} image does not split into {w}×{w} windows with shift {s} (need 0 ≤ shift < window)", out error);
                        return new[] { Dim.Static((long)(h / w) * (wd / w)), Dim.Static(w * w), Dim.Static(w * w) };
                    }
                default:
                    return Fail($"no shape rule for {node.Op}", out error);
            }
        }

        private static Dim[]? Reshape(Dim[] a, EquatableArray<int> requested, out string? error)
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
            for (int i = 0; i < requested.Count; i++)
            {
                if (requested[i] == -1)
                {
                    if (inferred >= 0) return Fail($"[{string.Join(", ", requested)}] has more than one -1", out error);
                    inferred = i;
                }
                else if (requested[i] <= 0)
                {
                    return Fail($"[{string.Join(", ", requested)}] has a dimension ≤ 0 other than -1", out error);
                }
                else
                {
                    known *= requested[i];
                }
            }
            var result = requested.Select(d => Dim.Static(d)).ToArray();
            if (inferred < 0)
            {
                if (dynamic) return Fail($"{Text(a)} carries the batch; use -1 for the dimension that holds it", out error);
                if (known != total) return Fail($"{Text(a)} has {total} elements, [{string.Join(", ", requested)}] has {known}", out error);
                return result;
            }
            if (total % known != 0)
                return Fail($"{Text(a)} ({(dynamic ? total + "·N" : total.ToString())} elements) does not divide into [{string.Join(", ", requested)}]", out error);
            result[inferred] = new Dim(total / known, dynamic);
            return result;
        }

        private static Dim[]? Broadcast(Dim[] a, Dim[] b, out string? error)
        {
            error = null;
            int rank = System.Math.Max(a.Length, b.Length);
            var result = new Dim[rank];
            for (int i = 0; i < rank; i++)
            {
                var da = i < rank - a.Length ? Dim.Static(1) : a[i - (rank - a.Length)];
                var db = i < rank - b.Length ? Dim.Static(1) : b[i - (rank - b.Length)];
                if (da == db || db == Dim.Static(1)) result[i] = da;
                else if (da == Dim.Static(1)) result[i] = db;
                else return Fail($"{Text(a)} and {Text(b)} do not broadcast (axis {i}: {da} vs {db})", out error);
            }
            return result;
        }

        private static int Axis(int axis, int rank) => axis < 0 ? (axis + rank >= 0 ? axis + rank : -1) : axis < rank ? axis : -1;

        private static Dim[] WithLast(Dim[] a, Dim last)
        {
            var r = (Dim[])a.Clone();
            r[r.Length - 1] = last;
            return r;
        }

        private static Dim[]? Fail(string message, out string? error)
        {
            error = message;
            return null;
        }

        public static string Text(IEnumerable<Dim> dims) => "[" + string.Join(", ", dims) + "]";
    }
}
