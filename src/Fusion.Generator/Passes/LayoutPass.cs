using System.Collections.Generic;
using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Moves permutes below the pointwise operators and plain reductions that read them, and cancels a permute followed by its
    /// inverse, so operators compute in the layout their producer wrote. A model written in NCHW gets its convolutions' results
    /// (channels-last GEMM outputs behind a permute to NCHW) with the bias, batch norm, activation and residual after them in
    /// channels-last order too: those then join the GEMM's epilogue, a channels-first LayerNorm reads its input in place, and the
    /// next convolution's windows read channels-last memory. Only data layout changes: every value the model returns, and every
    /// value a view or template reads, is the same element for element. Runs after the template patterns (which match the
    /// permutes users write around attention) and before precision planning.
    /// </summary>
    internal static class LayoutPass
    {
        public static ModelGraph Run(ModelGraph graph)
        {
            if (graph.HasErrors || graph.Output < 0 || graph.Nodes.Count == 0) return graph;
            var rewrite = new Rewrite(graph.Nodes);
            var map = new int[graph.Nodes.Count];
            foreach (var node in graph.Nodes) map[node.Id] = rewrite.Visit(node, node.Inputs.Select(i => map[i]).ToArray());
            if (!rewrite.Changed) return graph;
            int output = map[graph.Output];
            var nodes = GraphPruning.Compact(rewrite.Nodes, GraphPruning.Live(rewrite.Nodes, output), ref output);
            return graph with { Nodes = nodes.ToEquatableArray(), Output = output };
        }

        /// <summary>The graph being rebuilt in order: each original node maps to the node (usually a permute) that now holds its value.</summary>
        private sealed class Rewrite(IReadOnlyList<Node> original)
        {
            public List<Node> Nodes { get; } = new(original.Count);

            public bool Changed { get; private set; }

            public int Visit(Node node, int[] inputs)
            {
                if (node.Is(Ops.Permute))
                    return PermuteOf(inputs[0], Axes(node), node.Shape, node);
                if (node.Descriptor is PointwiseOp && SinkIntoPointwise(node, inputs) is int pointwise)
                    return pointwise;
                if (node.Descriptor is ReduceOp && SinkIntoReduction(node, inputs[0]) is int reduced)
                    return reduced;
                return Emit(node with { Inputs = inputs.ToEquatableArray() });
            }

            /// <summary>
            /// op(permute(y, π), others) → permute(op(y, others′), π), where each other operand is permuted back (a reshape
            /// when only its size-1 axes move, nothing when it is the same permute of another value, itself a scalar).
            /// </summary>
            private int? SinkIntoPointwise(Node node, int[] inputs)
            {
                var pivot = inputs.Select(i => Nodes[i]).FirstOrDefault(n => n.Is(Ops.Permute) && n.Shape.Equals(node.Shape));
                if (pivot is null) return null;
                var axes = Axes(pivot);
                var operands = new int[inputs.Length];
                for (int j = 0; j < inputs.Length; j++)
                {
                    var operand = Nodes[inputs[j]];
                    if (operand.Is(Ops.Permute) && operand.Shape.Equals(node.Shape) && Axes(operand).SequenceEqual(axes))
                        operands[j] = operand.Inputs[0];
                    else if (operand.Shape.Count == 0)
                        operands[j] = inputs[j];
                    else if (Unpermute(inputs[j], axes, node) is int back)
                        operands[j] = back;
                    else
                        return null;
                }
                var shapes = operands.Select(i => Nodes[i].Shape.ToArray()).ToList();
                var shape = node.Descriptor.InferShape(shapes, node.Attributes, out _);
                if (shape is null) return null;
                int computed = Emit(node with { Inputs = operands.ToEquatableArray(), Shape = shape.ToEquatableArray() });
                Changed = true;
                return PermuteOf(computed, axes, node.Shape, node);
            }

            /// <summary>reduce(permute(y, π), A) → reduce(y, π(A)), then the permute of the axes that remain (none when they keep their order).</summary>
            private int? SinkIntoReduction(Node node, int input)
            {
                var source = Nodes[input];
                if (!source.Is(Ops.Permute)) return null;
                var axes = Axes(source);
                int rank = axes.Length;
                var reduced = ((ReduceOp)node.Descriptor).ReducedAxes(rank, node.Attributes);
                bool keep = node.Attributes.IntOr("keepDim", 0) != 0;
                var mapped = reduced.Select(a => axes[a]).OrderBy(a => a).ToArray();
                var attributes = node.Attributes.With(OpAttribute.IntList("axes", mapped.Select(a => (long)a)));
                var y = Nodes[source.Inputs[0]];
                var shape = node.Descriptor.InferShape(new[] { y.Shape.ToArray() }, attributes, out _);
                if (shape is null) return null;
                int computed = Emit(node with { Inputs = EquatableArray.Of(source.Inputs[0]), Attributes = attributes, Shape = shape.ToEquatableArray() });
                Changed = true;
                if (keep) return PermuteOf(computed, axes, node.Shape, node);
                // The kept axes of the permuted value, in its order, as positions among y's kept axes (which stay in y's order).
                var keptInY = Enumerable.Range(0, rank).Where(a => !mapped.Contains(a)).ToList();
                var order = Enumerable.Range(0, rank).Where(a => !reduced.Contains(a)).Select(a => (long)keptInY.IndexOf((int)axes[a])).ToArray();
                return PermuteOf(computed, order, node.Shape, node);
            }

            /// <summary>
            /// <paramref name="id"/> (broadcast against <paramref name="node"/>'s shape) laid out so that permuting it by
            /// <paramref name="axes"/> gives it back: a reshape when only size-1 axes move, else a permute; null when it cannot.
            /// </summary>
            private int? Unpermute(int id, long[] axes, Node node)
            {
                var operand = Nodes[id];
                int rank = axes.Length;
                if (operand.Shape.Count > rank) return null;
                var padded = Enumerable.Repeat(Dim.One, rank - operand.Shape.Count).Concat(operand.Shape).ToArray();
                var back = new Dim[rank];
                for (int i = 0; i < rank; i++) back[axes[i]] = padded[i];
                var moved = Enumerable.Range(0, rank).Where(i => padded[i] != Dim.One).Select(i => axes[i]).ToList();
                bool onlyOnesMove = moved.Zip(moved.Skip(1), (a, b) => a < b).All(x => x);
                if (operand.Shape.Any(d => d.Dynamic))
                {
                    // A reshape cannot name the batch; a full-rank value is permuted instead.
                    if (operand.Shape.Count != rank) return null;
                    return PermuteOf(id, Inverse(axes), back, node);
                }
                if (onlyOnesMove)
                    return Emit(Derived(Ops.Reshape, new[] { id }, AttributeSet.Of(OpAttribute.IntList("shape", back.Select(d => d.Value))), back, node));
                int full = operand.Shape.Count == rank ? id
                    : Emit(Derived(Ops.Reshape, new[] { id }, AttributeSet.Of(OpAttribute.IntList("shape", padded.Select(d => d.Value))), padded, node));
                return PermuteOf(full, Inverse(axes), back, node);
            }

            /// <summary>permute(<paramref name="id"/>, axes): composed with a permute it reads, nothing when the two cancel.</summary>
            private int PermuteOf(int id, long[] axes, EquatableArray<Dim> shape, Node near) => PermuteOf(id, axes, shape.ToArray(), near);

            private int PermuteOf(int id, long[] axes, Dim[] shape, Node near)
            {
                var input = Nodes[id];
                if (input.Is(Ops.Permute))
                {
                    var inner = Axes(input);
                    axes = axes.Select(a => inner[a]).ToArray();
                    id = input.Inputs[0];
                    Changed = true;
                }
                if (axes.Select((a, i) => a == i).All(x => x))
                {
                    Changed |= near.Is(Ops.Permute);
                    return id;
                }
                var attributes = AttributeSet.Of(OpAttribute.IntList("axes", axes));
                return near.Is(Ops.Permute) && near.Attributes.Equals(attributes) && near.Inputs.Count == 1
                    ? Emit(near with { Inputs = EquatableArray.Of(id), Shape = shape.ToEquatableArray() })
                    : Emit(Derived(Ops.Permute, new[] { id }, attributes, shape, near));
            }

            private static Node Derived(OpDescriptor op, int[] inputs, AttributeSet attributes, IEnumerable<Dim> shape, Node near) =>
                new(0, op.Name, inputs.ToEquatableArray(), attributes, "", near.Source, near.Scope, near.Location) { Shape = shape.ToEquatableArray() };

            private int Emit(Node node)
            {
                Nodes.Add(node with { Id = Nodes.Count });
                return Nodes.Count - 1;
            }

            private static long[] Axes(Node permute)
            {
                var axes = permute.Attributes.Ints("axes");
                return axes.Select(a => (long)Dims.Axis(a, axes.Length)).ToArray();
            }

            private static long[] Inverse(long[] axes)
            {
                var inverse = new long[axes.Length];
                for (int i = 0; i < axes.Length; i++) inverse[axes[i]] = i;
                return inverse;
            }
        }
    }
}
