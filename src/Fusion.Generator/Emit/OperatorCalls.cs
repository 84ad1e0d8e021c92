using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>The backend call that computes one node, given the C# names of its inputs.</summary>
    internal static class OperatorCalls
    {
        private const string Ns = "global::Fusion.";

        public static string For(Node node, string[] x, ModelGraph graph)
        {
            var ints = node.Ints;
            switch (node.Op)
            {
                case OpKind.Param:
                    return $"be.Param({graph.Parameter(node.Name).AccessPath}, {node.Precision.ToCSharp()})";
                case OpKind.Cast:
                    {
                        // A cast from or to the run's input/output type may find the value already in the target type: Convert makes it a view then.
                        var from = graph.Nodes[node.Inputs[0]].Precision;
                        return from == FloatType.Io || node.Precision == FloatType.Io
                            ? $"{Ns}MixedPrecision.Convert(be, {x[0]}, {node.Precision.ToCSharp()})"
                            : $"be.Cast({x[0]}, {node.Precision.ToCSharp()})";
                    }
                case OpKind.Linear:
                    return $"be.Linear({x[0]}, {x[1]}, {(x.Length > 2 ? x[2] : "null")})";
                case OpKind.MatMul:
                    return $"be.MatMul({x[0]}, {x[1]}, transposeB: {(ints[0] == 1 ? "true" : "false")})";
                case OpKind.Add:
                    return $"be.Add({x[0]}, {x[1]})";
                case OpKind.Mul:
                    return $"be.Mul({x[0]}, {Literals.Float(node.Float)})";
                case OpKind.Gelu:
                    return $"be.Gelu({x[0]})";
                case OpKind.Relu:
                    return $"be.Relu({x[0]})";
                case OpKind.LayerNorm:
                    return $"be.LayerNorm({x[0]}, {x[1]}, {x[2]}, {Literals.Float(node.Float)}{WritesType(node, graph, 0, 1)})";
                case OpKind.Softmax:
                    return $"be.Softmax({x[0]})";
                case OpKind.Reshape:
                    return $"be.Reshape({x[0]}, new {Ns}Shape({string.Join(", ", node.Shape.Select(d => d.ToCSharp("batch")))}))";
                case OpKind.Permute:
                    return $"be.Permute({x[0]}, {Literals.IntArray(ints)})";
                case OpKind.Select:
                    return $"be.Select({x[0]}, {ints[0]}, {ints[1]})";
                case OpKind.Roll:
                    return $"be.Roll({x[0]}, {ints[0]}, {Literals.IntArray(ints.Skip(1))})";
                case OpKind.WindowPartition:
                    return $"be.WindowPartition({x[0]}, {ints[0]})";
                case OpKind.WindowReverse:
                    return $"be.WindowReverse({x[0]}, {ints[0]}, {ints[1]}, {ints[2]})";
                case OpKind.PatchMerging:
                    return $"be.PatchMerging({x[0]})";
                case OpKind.Patchify:
                    return $"be.Patchify({x[0]}, {ints[0]}{WritesType(node, graph, 0)})";
                case OpKind.Mean:
                    return $"be.Mean({x[0]}, {ints[0]}, {ints[1]}{WritesType(node, graph, 0)})";
                case OpKind.RelativePositionBias:
                    return $"be.RelativePositionBias({x[0]}, {ints[0]})";
                case OpKind.ShiftedWindowMask:
                    return $"be.ShiftedWindowMask({ints[0]}, {ints[1]}, {ints[2]}, {ints[3]}, {node.Precision.ToCSharp()})";
                case OpKind.QkvRelayout:
                    return $"be.QkvRelayout({x[0]}, {ints[0]})";
                case OpKind.FusedLinear:
                    {
                        // Inputs: x, weight, [bias], [residual]; Ints: activation, hasBias, hasResidual.
                        string bias = ints[1] == 1 ? x[2] : "null";
                        string residual = ints[2] == 1 ? x[x.Length - 1] : "null";
                        string activation = ints[0] switch { 1 => "Relu", 2 => "Gelu", _ => "None" };
                        return $"be.FusedLinear({x[0]}, {x[1]}, {bias}, {Ns}Activation.{activation}, {residual}, {Kernel(node)})";
                    }
                case OpKind.BiasResidual:
                    return $"be.BiasResidual({x[0]}, {x[1]}, {x[2]}, {Kernel(node)})";
                case OpKind.LayerNormWindowPartition:
                    return $"be.LayerNormWindowPartition({x[0]}, {x[1]}, {x[2]}, {Literals.Float(node.Float)}, {ints[0]}, {ints[1]}, {Kernel(node)})";
                case OpKind.WindowReverseResidual:
                    return $"be.WindowReverseResidual({x[0]}, {x[1]}, {ints[0]}, {ints[1]}, {Kernel(node)})";
                case OpKind.WindowAttention:
                    return $"be.WindowAttention({x[0]}, {x[1]}, {(x.Length > 2 ? x[2] : "null")}, {ints[0]}, {Literals.Float(node.Float)}, {Kernel(node)})";
                default:
                    throw new System.InvalidOperationException($"no emitter for {node.Op}");
            }
        }

        /// <summary>
        /// The dtype argument of an operator that writes a chosen type (a cast folded into it), when one of its operands
        /// <paramref name="operands"/> has another type than its value; empty when they all agree (the plain call).
        /// </summary>
        private static string WritesType(Node node, ModelGraph graph, params int[] operands) =>
            operands.Any(i => graph.Nodes[node.Inputs[i]].Precision != node.Precision) ? ", " + node.Precision.ToCSharp() : "";

        public static string Kernel(Node node) => KernelTableWriter.ClassName + "." + node.Kernel!.Name;
    }
}
