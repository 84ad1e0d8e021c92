using System.Collections.Generic;
using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Diagnostics;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Infers every value's shape (static dimensions plus the dynamic batch) with each operator's descriptor
    /// (<see cref="OpDescriptor.InferShape"/>) and reports operands that cannot fit together as FUS004 at the call that
    /// receives them. A node whose shape cannot be inferred poisons its users silently, so each mistake is reported once.
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
                var shape = node.Descriptor.InferShape(inputs!, node.Attributes, out var error);
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
    }
}
