using System;
using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// An elementwise operator: its output is a function of its operands' elements, with NumPy broadcasting (shapes aligned at
    /// the end, size-1 or missing axes repeat). <see cref="Build"/> writes the function in the loop IR, <see cref="Apply"/> in
    /// float64 for the reference.
    /// </summary>
    internal abstract class PointwiseOp : OpDescriptor
    {
        private readonly string[] _operands;

        protected PointwiseOp(string name, string summary, params string[] operands) : base(name, summary) => _operands = operands;

        public override OpClass Class => OpClass.Pointwise;

        public override IReadOnlyList<string> Operands => _operands;

        public int Arity => _operands.Length;

        /// <summary>One operand broadcasts to itself: said plainly.</summary>
        public override string ShapeRule => Arity == 1 ? "x's shape" : ClassShapeRule(Class);

        /// <summary>The output element from the operands' elements.</summary>
        public abstract Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes);

        /// <summary>The same in float64.</summary>
        public abstract double Apply(double[] x, AttributeSet attributes);

        public override Dim[]? InferShape(IReadOnlyList<Dim[]> inputs, AttributeSet attributes, out string? error)
        {
            error = null;
            if (inputs.Count != Arity) return Fail($"{Name} takes {Arity} operands, {inputs.Count} given", out error);
            return Broadcasting.Shape(inputs, out error);
        }

        public override RefArray Reference(IReadOnlyList<RefArray> inputs, AttributeSet attributes)
        {
            var shape = Broadcasting.Shape(inputs.Select(i => i.Shape).ToList());
            var y = new RefArray(shape);
            var args = new double[inputs.Count];
            for (long e = 0; e < y.Count; e++)
            {
                var index = y.Unravel(e);
                for (int i = 0; i < inputs.Count; i++) args[i] = inputs[i].Data[Broadcasting.SourceOffset(inputs[i].Shape, index)];
                y.Data[e] = Apply(args, attributes);
            }
            return y;
        }
    }

    /// <summary>A pointwise operator of one operand given by two formulas (loop IR and float64).</summary>
    internal sealed class UnaryOp(string name, string summary, Func<IScalarBuilder, Val, Val> build, Func<double, double> apply) : PointwiseOp(name, summary, "x")
    {
        public override Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes) => build(b, x[0]);

        public override double Apply(double[] x, AttributeSet attributes) => apply(x[0]);
    }

    /// <summary>A pointwise operator of two operands given by two formulas.</summary>
    internal sealed class BinaryOp(string name, string summary, Func<IScalarBuilder, Val, Val, Val> build, Func<double, double, double> apply)
        : PointwiseOp(name, summary, "a", "b")
    {
        public override Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes) => build(b, x[0], x[1]);

        public override double Apply(double[] x, AttributeSet attributes) => apply(x[0], x[1]);
    }

    /// <summary>NumPy broadcasting for shape rules, references and the lowering.</summary>
    internal static class Broadcasting
    {
        public static Dim[]? Shape(IReadOnlyList<Dim[]> shapes, out string? error)
        {
            error = null;
            int rank = shapes.Max(s => s.Length);
            var result = new Dim[rank];
            for (int i = 0; i < rank; i++)
            {
                var d = Dim.One;
                foreach (var s in shapes)
                {
                    var di = i < rank - s.Length ? Dim.One : s[i - (rank - s.Length)];
                    if (di == d || di == Dim.One) continue;
                    if (d == Dim.One) d = di;
                    else
                    {
                        error = $"{string.Join(" and ", shapes.Select(Dims.Text))} do not broadcast (axis {i}: {d} vs {di})";
                        return null;
                    }
                }
                result[i] = d;
            }
            return result;
        }

        public static long[] Shape(IReadOnlyList<long[]> shapes)
        {
            var dims = Shape(shapes.Select(s => s.Select(Dim.Static).ToArray()).ToList(), out var error)
                ?? throw new ArgumentException(error);
            return dims.Select(d => d.Value).ToArray();
        }

        /// <summary>The offset in a tensor of <paramref name="shape"/> of the element broadcast to output index <paramref name="index"/>.</summary>
        public static long SourceOffset(long[] shape, long[] index)
        {
            long o = 0;
            int shift = index.Length - shape.Length;
            for (int i = 0; i < shape.Length; i++) o = o * shape[i] + (shape[i] == 1 ? 0 : index[i + shift]);
            return o;
        }
    }
}
