using Fusion.Compiler;
using Fusion.Generator.Model;

namespace Fusion.Generator.Ir
{
    /// <summary>
    /// One operator of the dataflow graph. Its result is the value with the same <see cref="Id"/>;
    /// <see cref="Inputs"/> are ids of earlier nodes (the list is in topological order). What the operator is and does
    /// is its descriptor's (<see cref="Descriptor"/>); the node holds only its name and named attributes.
    /// </summary>
    /// <param name="Op">The operator's name (an <see cref="Ops"/> descriptor).</param>
    /// <param name="Attributes">Named attributes: axes, shapes, eps, window, … (an input's or parameter's shape is "shape").</param>
    /// <param name="Name">Input name, or parameter state-dict key.</param>
    /// <param name="Source">The call as written, for reports and messages.</param>
    /// <param name="Scope">Module path the call came from ("blocks.0.attn"; empty for the root).</param>
    internal sealed record Node(
        int Id,
        string Op,
        EquatableArray<int> Inputs,
        AttributeSet Attributes,
        string Name,
        string Source,
        string Scope,
        LocationInfo? Location)
    {
        /// <summary>Inferred by <see cref="Passes.ShapeInference"/>; empty before.</summary>
        public EquatableArray<Dim> Shape { get; init; } = EquatableArray<Dim>.Empty;

        public string ShapeText => Dims.Text(Shape);

        /// <summary>The template kernel of a fused node (set by <see cref="Passes.FusionPass"/>); null otherwise.</summary>
        public KernelSpec? Kernel { get; init; }

        /// <summary>The operators a fused node replaced, for the keep-list; empty for other nodes.</summary>
        public EquatableArray<string> FusedFrom { get; init; } = EquatableArray<string>.Empty;

        /// <summary>The float type of this node's value in a precision plan (set by <see cref="Passes.PrecisionPass"/>).</summary>
        public FloatType Precision { get; init; }

        public OpDescriptor Descriptor => Ops.Get(Op);

        public bool Is(OpDescriptor op) => Op == op.Name;

        public bool IsSource => Is(Ops.Input) || Is(Ops.Param) || Is(Ops.Scale) || Is(Ops.Const);
    }
}
