using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// The backend call of an operator that runs as a step of its own (not in a generated kernel), given the C# expressions of
    /// its inputs: batched products, the attention template, the load-time builders, and a Linear of constants.
    /// </summary>
    internal static class OperatorCalls
    {
        private const string Ns = "global::Fusion.";

        public static string For(Node node, string[] x)
        {
            var a = node.Attributes;
            switch (node.Op)
            {
                case "Linear":
                    return $"be.Linear({x[0]}, {x[1]}, {(x.Length > 2 ? x[2] : "null")})";
                case "MatMul":
                    return $"be.MatMul({x[0]}, {x[1]}, transposeB: {(a.IntOr("transposeB", 0) == 1 ? "true" : "false")})";
                case "WindowAttention":
                    return $"be.WindowAttention({x[0]}, {x[1]}, {(x.Length > 2 ? x[2] : "null")}, {a.Int("heads")}, {Literals.Float((float)a.Float("scale"))}, {Kernel(node)})";
                case "Attention":
                    return Attention(node, x, Kernel(node), "");
                case "RelativePositionBias":
                    return $"be.RelativePositionBias({x[0]}, {a.Int("window")})";
                case "ShiftedWindowMask":
                    return $"be.ShiftedWindowMask({a.Int("height")}, {a.Int("width")}, {a.Int("window")}, {a.Int("shift")}, {node.Precision.ToCSharp()})";
                case "QkvRelayout":
                    return $"be.QkvRelayout({x[0]}, {a.Int("heads")})";
                case "Reshape":
                case "Flatten":
                    return $"be.Reshape({x[0]}, new {Ns}Shape({string.Join(", ", node.Shape.Select(d => d.ToCSharp("batch")))}))";
                default:
                    throw new System.InvalidOperationException($"no backend call for {node.Op}: it runs in a generated kernel");
            }
        }

        /// <summary>
        /// be.QkvAttention: the projection <paramref name="gemm"/> on x, its weight and epilogue inputs (<paramref name="x"/> up to
        /// <paramref name="attentionAt"/>), then the window attention <paramref name="node"/>'s own inputs after qkv (bias, mask), and
        /// <paramref name="output"/> (<see cref="AttentionOutput"/> or empty).
        /// </summary>
        public static string QkvAttention(Node node, string gemm, string[] x, int attentionAt, string output) =>
            $"be.QkvAttention({gemm}, batch, io, {x[0]}, {x[1]}, {AttentionArguments(node, x, 2, attentionAt)}{output})";

        /// <summary>
        /// be.NormQkvAttention: the norm kernel <paramref name="norm"/> on its x, weight and bias (the first three of <paramref name="x"/>),
        /// where its windows come from (<paramref name="geometry"/>), then as <see cref="QkvAttention"/> the projection's weight and
        /// epilogue inputs (up to <paramref name="attentionAt"/>), the attention's own inputs (bias, mask) and <paramref name="output"/>.
        /// </summary>
        public static string NormQkvAttention(Node node, string norm, WindowNormSpec geometry, string gemm, string[] x, int attentionAt, string output)
        {
            var g = geometry;
            return $"be.NormQkvAttention({norm}, new {Ns}WindowNorm({Literals.Float((float)g.Eps)}, {g.Height}, {g.Width}, {g.Window}, {g.Shift}), "
                + $"new {Ns}Tensor[] {{ {x[0]}, {x[1]}, {x[2]} }}, {gemm}, batch, io, {x[3]}, {AttentionArguments(node, x, 4, attentionAt)}{output})";
        }

        /// <summary>
        /// A QKV attention call's last argument where the output projection <paramref name="gemm"/> joined it (with its leading comma):
        /// its weight, then its epilogue inputs (the bias), as <paramref name="x"/> lists them.
        /// </summary>
        public static string AttentionOutput(string gemm, string[] x) =>
            $", new {Ns}AttentionOutput({gemm}, {x[0]}, new {Ns}Tensor[] {{ {string.Join(", ", x.Skip(1))} }})";

        /// <summary>
        /// What both QKV attention calls end with: the projection's epilogue inputs (<paramref name="x"/> from <paramref name="from"/> up to
        /// <paramref name="attentionAt"/>), the attention's bias and mask (or null), its heads, scale and kernel.
        /// </summary>
        private static string AttentionArguments(Node node, string[] x, int from, int attentionAt)
        {
            var a = node.Attributes;
            var inputs = string.Join(", ", x.Skip(from).Take(attentionAt - from));
            string mask = x.Length > attentionAt + 1 ? x[attentionAt + 1] : "null";
            return $"new {Ns}Tensor[] {{ {inputs} }}, {x[attentionAt]}, {mask}, {a.Int("heads")}, {Literals.Float((float)a.Float("scale"))}, {Kernel(node)}";
        }

        /// <summary>
        /// The backend call of a template finished by its generated epilogue (kernel <paramref name="kernel"/>): the template's own
        /// operands (the node's inputs, the first entries of <paramref name="x"/>), then the run's batch and type and the epilogue's inputs.
        /// </summary>
        public static string WithEpilogue(Node node, string[] x, string kernel)
        {
            var a = node.Attributes;
            int own = node.Inputs.Count;
            var epilogue = string.Concat(x.Skip(own).Select(e => ", " + e));
            return node.Op switch
            {
                "WindowAttention" => $"be.WindowAttention({x[0]}, {x[1]}, {(own > 2 ? x[2] : "null")}, {a.Int("heads")}, {Literals.Float((float)a.Float("scale"))}, " +
                    $"{KernelTableWriter.ClassName}.{kernel}, batch, io{epilogue})",
                "Attention" => Attention(node, x, $"{KernelTableWriter.ClassName}.{kernel}", $", batch, io{epilogue}"),
                _ => throw new System.InvalidOperationException($"{node.Op} takes no epilogue"),
            };
        }

        /// <summary>
        /// be.Attention: a packed qkv is passed as q, k and v alike; the layout says how the kernel reads and writes. <paramref name="tail"/>
        /// follows the kernel (the batch, io type and epilogue inputs of a kernel with an epilogue).
        /// </summary>
        private static string Attention(Node node, string[] x, string kernel, string tail)
        {
            var a = node.Attributes;
            bool packed = AttentionOp.Packed(a);
            int own = AttentionOp.QkvInputs(a);
            var (q, k, v) = packed ? (x[0], x[0], x[0]) : (x[0], x[1], x[2]);
            bool tokenMajor = AttentionOp.TokenMajor(a);
            var layout = packed || tokenMajor || AttentionOp.Merged(a)
                ? $"new {Ns}AttentionLayout({Literals.Bool(packed)}, {Literals.Bool(AttentionOp.Merged(a))}, {a.IntOr("heads", 0)}, {a.IntOr("headDim", 0)}, {Literals.Bool(tokenMajor)})"
                : "default";
            return $"be.Attention({q}, {k}, {v}, {(node.Inputs.Count > own ? x[own] : "null")}, {layout}, {Literals.Float((float)a.FloatOr("scale", 1.0))}, "
                + $"{Literals.Bool(a.IntOr("causal", 0) != 0)}, {kernel}{tail})";
        }

        public static string Kernel(Node node) => KernelTableWriter.ClassName + "." + node.Kernel!.Name;
    }
}
