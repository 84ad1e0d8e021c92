using System.Collections.Generic;
using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Folds a per-output-channel scale and shift after a Linear — y·s (+ t), s and t computed from parameters alone, one value per
    /// output feature — into the Linear: weight W·s (row by row) and bias b·s + t, both load-time constants. A convolution's batch
    /// norm (after <see cref="LayoutPass"/> moved it next to the GEMM) and a layer scale (ConvNeXt's gamma) then cost nothing at run
    /// time, and the GEMM's epilogue is a bias and an activation, which cuBLASLt runs in its own epilogue.
    /// </summary>
    internal static class LinearAffineFold
    {
        public static ModelGraph Run(ModelGraph graph)
        {
            if (graph.HasErrors || graph.Output < 0 || graph.Nodes.Count == 0) return graph;
            var nodes = graph.Nodes.ToList();
            var readers = ReaderLists.Of(nodes);
            var parameterOnly = ParameterOnly.Of(graph.Nodes);
            int? OnlyReader(int id) => readers[id].Count == 1 && id != graph.Output ? readers[id][0] : null;
            // The operand of a two-operand node that is not from, if it is a per-output-feature constant of the Linear's N features.
            int? PerFeature(Node node, int from, long features)
            {
                if (node.Inputs.Count != 2 || node.Inputs[0] == node.Inputs[1]) return null;
                int other = node.Inputs[0] == from ? node.Inputs[1] : node.Inputs[0];
                var shape = nodes[other].Shape;
                bool perFeature = shape.Count >= 1 && shape.Count <= nodes[from].Shape.Count && shape[shape.Count - 1] == Dim.Static(features) && shape.Take(shape.Count - 1).All(d => d == Dim.One);
                return perFeature && parameterOnly[other] ? other : null;
            }

            bool changed = false;
            foreach (var linear in graph.Nodes.Where(n => n.Is(Ops.Linear) && n.Kernel is null))
            {
                long features = nodes[linear.Inputs[1]].Shape[0].Value;
                if (OnlyReader(linear.Id) is not int mulId || !nodes[mulId].Is(Ops.Mul) || PerFeature(nodes[mulId], linear.Id, features) is not int scale) continue;
                int last = mulId;
                int? shift = null;
                if (OnlyReader(mulId) is int addId && nodes[addId].Is(Ops.Add) && PerFeature(nodes[addId], mulId, features) is int t)
                {
                    shift = t;
                    last = addId;
                }
                var near = nodes[last];
                int Add(OpDescriptor op, AttributeSet attributes, params int[] inputs)
                {
                    var shape = op.InferShape(inputs.Select(i => nodes[i].Shape.ToArray()).ToList(), attributes, out var error)
                        ?? throw new System.InvalidOperationException($"folding into {linear.Source}: {error}");
                    var node = new Node(nodes.Count, op.Name, inputs.ToEquatableArray(), attributes, "", linear.Source, linear.Scope, linear.Location) { Shape = shape.ToEquatableArray() };
                    nodes.Add(node);
                    readers.Add(new List<int>());
                    return node.Id;
                }
                int Vector(int id, params long[] shape) => Add(Ops.Reshape, AttributeSet.Of(OpAttribute.IntList("shape", shape)), id);
                int weight = Add(Ops.Mul, AttributeSet.Empty, linear.Inputs[1], Vector(scale, features, 1));
                int? bias = linear.Inputs.Count > 2 ? Add(Ops.Mul, AttributeSet.Empty, linear.Inputs[2], Vector(scale, features)) : null;
                if (shift is int s) bias = bias is int b ? Add(Ops.Add, AttributeSet.Empty, b, Vector(s, features)) : Vector(s, features);
                var inputs = bias is int folded ? new[] { linear.Inputs[0], weight, folded } : new[] { linear.Inputs[0], weight };
                nodes[last] = linear with { Id = last, Inputs = inputs.ToEquatableArray(), Shape = near.Shape };
                changed = true;
            }
            if (!changed) return graph;
            int output = graph.Output;
            var compact = GraphPruning.Compact(nodes, GraphPruning.Live(nodes, output), ref output);
            return graph with { Nodes = compact.ToEquatableArray(), Output = output };
        }
    }
}
