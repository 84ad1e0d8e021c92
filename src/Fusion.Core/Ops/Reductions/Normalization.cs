using System;
using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    internal static partial class Ops
    {
        public static readonly LayerNormOp LayerNorm = new();

        public static readonly RmsNormOp RmsNorm = new();

        public static readonly SoftmaxOp Softmax = new();
    }

    /// <summary>(x − mean)/√(var + eps)·weight + bias over the last axis, biased variance; weight and bias [C].</summary>
    internal sealed class LayerNormOp() : ReductionOp("LayerNorm", "layer normalization over the last axis")
    {
        public override string ShapeRule => "x's shape (weight and bias [C] for x's last axis C)";

        public override bool KeepsShape => true;

        public override int Translate(IOpCall call) =>
            call.Add(Name, new[] { call.Tensors[0], call.LayerParameter("weight"), call.LayerParameter("bias") },
                AttributeSet.Of(OpAttribute.Real("eps", Convert.ToDouble(call.LayerArgument("eps") ?? 1e-5, System.Globalization.CultureInfo.InvariantCulture))));

        public override int[] ReducedAxes(int rank, AttributeSet attributes) => new[] { rank - 1 };

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            if (a.Length < 1 || inputs.Skip(1).Any(p => p.Length != 1 || p[0] != a[a.Length - 1]))
                return Fail($"input {Dims.Text(a)} is normalized over its last axis but the weight is {Dims.Text(inputs[1])}", out error);
            if (a[a.Length - 1].Dynamic) return Fail($"cannot normalize over the batch axis of {Dims.Text(a)}", out error);
            return a;
        }

        public override Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes, long extent)
        {
            var mean = b.Mul(b.Reduce(ReduceKind.Sum, x[0]), 1.0 / extent);
            var d = b.Sub(x[0], mean);
            var variance = b.Mul(b.Reduce(ReduceKind.Sum, b.Mul(d, d)), 1.0 / extent);
            var normalized = b.Mul(d, b.Rsqrt(b.Add(variance, attributes.Float("eps"))));
            return b.Add(b.Mul(normalized, x[1]), x[2]);
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes) =>
            RowReference.Map(inputs[0], (row, y) =>
            {
                double mean = row.Average();
                double variance = row.Select(v => (v - mean) * (v - mean)).Average();
                double inv = 1 / Math.Sqrt(variance + attributes.Float("eps"));
                for (int i = 0; i < row.Length; i++) y[i] = (row[i] - mean) * inv * inputs[1].Data[i] + inputs[2].Data[i];
            });
    }

    /// <summary>x/√(mean(x²) + eps)·weight over the last axis; weight [C].</summary>
    internal sealed class RmsNormOp() : ReductionOp("RmsNorm", "RMS normalization over the last axis")
    {
        public override string ShapeRule => "x's shape (weight [C] for x's last axis C)";

        public override bool KeepsShape => true;

        public override int Translate(IOpCall call) =>
            call.Add(Name, new[] { call.Tensors[0], call.LayerParameter("weight") },
                AttributeSet.Of(OpAttribute.Real("eps", Convert.ToDouble(call.LayerArgument("eps") ?? 1e-6, System.Globalization.CultureInfo.InvariantCulture))));

        public override int[] ReducedAxes(int rank, AttributeSet attributes) => new[] { rank - 1 };

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error) =>
            Ops.LayerNorm.InferShape(inputs, attributes, out error);

        public override Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes, long extent)
        {
            var meanSquare = b.Mul(b.Reduce(ReduceKind.Sum, b.Mul(x[0], x[0])), 1.0 / extent);
            return b.Mul(b.Mul(x[0], b.Rsqrt(b.Add(meanSquare, attributes.Float("eps")))), x[1]);
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes) =>
            RowReference.Map(inputs[0], (row, y) =>
            {
                double inv = 1 / Math.Sqrt(row.Select(v => v * v).Average() + attributes.Float("eps"));
                for (int i = 0; i < row.Length; i++) y[i] = row[i] * inv * inputs[1].Data[i];
            });
    }

    /// <summary>e^(x − max)/Σ e^(x − max) along <c>axis</c> (default the last).</summary>
    internal sealed class SoftmaxOp() : ReductionOp("Softmax", "softmax along an axis")
    {
        public override string ShapeRule => "x's shape (normalized along `axis`, default the last)";

        public override bool KeepsShape => true;

        public override int[] ReducedAxes(int rank, AttributeSet attributes) => new[] { Dims.Axis(attributes.IntOr("axis", -1), rank) };

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            var a = inputs[0];
            var problem = AxesProblem(a, ReducedAxes(a.Length, attributes), attributes, $"axis {attributes.IntOr("axis", -1)}");
            return problem is null ? a : Fail(problem, out error);
        }

        public override Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes, long extent)
        {
            var top = b.Reduce(ReduceKind.Max, x[0]);
            var e = b.Exp(b.Sub(x[0], top));
            return b.Mul(e, b.Recip(b.Reduce(ReduceKind.Sum, e)));
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes)
        {
            var x = inputs[0];
            int axis = ReducedAxes(x.Rank, attributes)[0];
            var y = new RefArray((long[])x.Shape.Clone());
            long stride = x.Strides()[axis], n = x.Shape[axis];
            for (long e = 0; e < x.Count; e++)
            {
                var index = x.Unravel(e);
                if (index[axis] != 0) continue;
                double top = double.NegativeInfinity, sum = 0;
                for (long k = 0; k < n; k++) top = Math.Max(top, x.Data[e + k * stride]);
                for (long k = 0; k < n; k++) sum += Math.Exp(x.Data[e + k * stride] - top);
                for (long k = 0; k < n; k++) y.Data[e + k * stride] = Math.Exp(x.Data[e + k * stride] - top) / sum;
            }
            return y;
        }
    }

    /// <summary>Applies a per-row function to the last axis of a float64 tensor.</summary>
    internal static class RowReference
    {
        public static RefArray Map(RefArray x, Action<double[], double[]> row)
        {
            var y = new RefArray((long[])x.Shape.Clone());
            int c = (int)x.Shape[x.Rank - 1];
            var input = new double[c];
            var output = new double[c];
            for (long start = 0; start < x.Count; start += c)
            {
                Array.Copy(x.Data, start, input, 0, c);
                row(input, output);
                Array.Copy(output, 0, y.Data, start, c);
            }
            return y;
        }
    }
}
