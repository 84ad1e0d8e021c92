using Fusion.Generator.Model;

namespace Fusion.Generator.Ir
{
    /// <summary>
    /// One operator of the dataflow graph. Its result is the value with the same <see cref="Id"/>;
    /// <see cref="Inputs"/> are ids of earlier nodes (the list is in topological order).
    /// </summary>
    /// <param name="Ints">Integer attributes (reshape dims, permutation, window, shift, axes…), per operator.</param>
    /// <param name="Float">The float attribute where the operator has one (Mul's scalar, LayerNorm's eps).</param>
    /// <param name="Name">Input name, or parameter state-dict key.</param>
    /// <param name="Source">The call as written, for reports and messages.</param>
    /// <param name="Scope">Module path the call came from ("blocks.0.attn"; empty for the root).</param>
    internal sealed record Node(
        int Id,
        OpKind Op,
        EquatableArray<int> Inputs,
        EquatableArray<int> Ints,
        float Float,
        string Name,
        string Source,
        string Scope,
        LocationInfo? Location)
    {
        /// <summary>Inferred by <see cref="Passes.ShapeInference"/>; empty before.</summary>
        public EquatableArray<Dim> Shape { get; init; } = EquatableArray<Dim>.Empty;

        public string ShapeText => "[" + string.Join(", ", Shape) + "]";

        /// <summary>The generated kernel of a fused node (set by <see cref="Passes.FusionPass"/>); null otherwise.</summary>
        public KernelSpec? Kernel { get; init; }

        /// <summary>The operator kinds (names of <see cref="OpKind"/>) a fused node replaced, for the keep-list; empty for other nodes.</summary>
        public EquatableArray<string> FusedFrom { get; init; } = EquatableArray<string>.Empty;

        /// <summary>The float type of this node's value in a precision plan (set by <see cref="Passes.PrecisionPass"/>).</summary>
        public FloatType Precision { get; init; }
    }
}
