using System;
using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly ReduceOp Sum = new("Sum", "sum over axes", ReduceKind.Sum, mean: false);

        public static readonly ReduceOp Mean = new("Mean", "mean over axes (summed in float32)", ReduceKind.Sum, mean: true);

        public static readonly ReduceOp Max = new("Max", "maximum over axes", ReduceKind.Max, mean: false);
    }

    /// <summary>A plain reduction over <c>axes</c> (any, not the batch); <c>keepDim</c> 1 keeps them as size-1 axes.</summary>
    internal sealed class ReduceOp(string name, string summary, ReduceKind kind, bool mean) : ReductionOp(name, summary)
    {
        public override string ShapeRule => "x without `axes` (kept as size 1 when `keepDim`)";

        public ReduceKind Kind => kind;

        /// <summary>Whether the sum is divided by the number of elements reduced (Mean).</summary>
        public bool Averages => mean;

        public override bool KeepsShape => false;

        public override int[] ReducedAxes(int rank, AttributeSet attributes) =>
            attributes.Ints("axes").Select(a => Dims.Axis(a, rank)).OrderBy(a => a).ToArray();

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            var axes = ReducedAxes(a.Length, attributes);
            var problem = AxesProblem(a, axes, attributes, $"[{string.Join(", ", attributes.Ints("axes"))}]");
            if (problem is not null) return Fail(problem, out error);
            bool keep = attributes.IntOr("keepDim", 0) != 0;
            return a.Select((d, i) => axes.Contains(i) ? (keep ? Dim.One : (Dim?)null) : d).Where(d => d is not null).Select(d => d!.Value).ToArray();
        }

        public override Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes, long extent)
        {
            var r = b.Reduce(kind, x[0]);
            return mean ? b.Mul(r, 1.0 / extent) : r;
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes)
        {
            var x = inputs[0];
            var axes = ReducedAxes(x.Rank, attributes);
            var keptShape = x.Shape.Select((d, i) => axes.Contains(i) ? 1 : d).ToArray();
            var sums = new double[keptShape.Aggregate(1L, (p, d) => p * d)];
            var seen = new bool[sums.Length];
            var kept = new RefArray(keptShape, sums);
            long extent = axes.Aggregate(1L, (p, a) => p * x.Shape[a]);
            for (long e = 0; e < x.Count; e++)
            {
                var index = x.Unravel(e);
                foreach (var a in axes) index[a] = 0;
                long o = kept.Offset(index);
                double v = x.Data[e];
                sums[o] = !seen[o] ? v : kind == ReduceKind.Sum ? sums[o] + v : kind == ReduceKind.Max ? Math.Max(sums[o], v) : Math.Min(sums[o], v);
                seen[o] = true;
            }
            if (mean) for (int i = 0; i < sums.Length; i++) sums[i] /= extent;
            bool keep = attributes.IntOr("keepDim", 0) != 0;
            return keep ? kept : new RefArray(x.Shape.Where((_, i) => !axes.Contains(i)).ToArray(), sums);
        }
    }
}
