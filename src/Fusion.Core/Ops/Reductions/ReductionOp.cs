using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// An operator that combines elements along some axes of its first input: a plain reduction (sum, mean, max) whose
    /// output drops those axes (or keeps them as size 1), or a normalization (layer norm, RMS norm, softmax) whose output
    /// has the input's shape and uses the reduced statistics per element. <see cref="Build"/> writes it in the loop IR
    /// given the inputs' values at one element of the reduced axes; the lowering supplies the reduction loop.
    /// </summary>
    internal abstract class ReductionOp(string name, string summary) : OpDescriptor(name, summary)
    {
        public override OpClass Class => OpClass.Reduction;

        public override IReadOnlyList<string> Operands => new[] { "x" };

        /// <summary>Whether the output has the input's shape (normalizations) rather than the reduced one.</summary>
        public abstract bool KeepsShape { get; }

        /// <summary>The axes of input 0 that are reduced (sorted, non-negative).</summary>
        public abstract int[] ReducedAxes(int rank, AttributeSet attributes);

        /// <summary>
        /// The output in the loop IR: <paramref name="x"/> are the inputs at the current element (the reduction variable
        /// running over the reduced axes), <paramref name="extent"/> the number of elements reduced per output.
        /// </summary>
        public abstract Val Build(IScalarBuilder b, Val[] x, AttributeSet attributes, long extent);

        /// <summary>Checks the reduced axes against input 0's shape (never the batch axis).</summary>
        protected static string? AxesProblem(Dim[] input, int[] axes, AttributeSet attributes, string name)
        {
            if (axes.Length == 0) return "no axis to reduce";
            if (axes.Any(a => a < 0)) return $"an axis of {name} is outside {Dims.Text(input)}";
            if (axes.Distinct().Count() != axes.Length) return $"{name} lists an axis twice";
            if (axes.Any(a => input[a].Dynamic)) return $"cannot reduce over the batch axis of {Dims.Text(input)}";
            return null;
        }
    }
}
