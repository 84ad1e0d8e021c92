using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Linear → [Gelu | Relu] → [Add(residual)]: one GEMM whose epilogue adds the bias, applies the
    /// activation and adds the residual in registers before its single store. Every Linear becomes a
    /// fused GEMM (at least with its bias), so the backend can choose the generated kernel or cuBLASLt.
    /// </summary>
    internal static class GemmPattern
    {
        public const string Pattern = "gemm_bias_act";

        public static void Apply(GraphRewriter g)
        {
            foreach (var linear in g.Nodes.Where(n => n.Op == OpKind.Linear).ToList())
            {
                if (!g.IsFree(linear.Id)) continue;
                var x = g.Input(linear, 0);
                if (x.Shape.Count < 2)
                {
                    g.Reject(linear, Pattern, $"the input {x.ShapeText} has no row dimension");
                    continue;
                }
                var end = linear;
                var absorbed = new List<int>();
                int activation = 0;
                if (Next(g, end, n => n.Op is OpKind.Gelu or OpKind.Relu, out var act, out var why))
                {
                    activation = act!.Op == OpKind.Relu ? 1 : 2;
                    absorbed.Add(end.Id);
                    end = act;
                }
                else if (why is not null) g.Reject(linear, Pattern, "activation not fused: " + why);

                Node? residual = null;
                if (Next(g, end, n => n.Op == OpKind.Add, out var add, out why))
                {
                    var other = g[add!.Inputs[0] == end.Id ? add.Inputs[1] : add.Inputs[0]];
                    if (other.Shape.Equals(add.Shape) && other.Id != end.Id)
                    {
                        residual = other;
                        absorbed.Add(end.Id);
                        end = add;
                    }
                    else
                    {
                        g.Reject(add, Pattern, $"residual not fused: {other.ShapeText} is broadcast to {add.ShapeText}");
                    }
                }
                else if (why is not null && end.Id != linear.Id) g.Reject(end, Pattern, "residual not fused: " + why);

                var weight = g.Input(linear, 1);
                int n = (int)weight.Shape[0].Value, k = (int)weight.Shape[1].Value;
                bool hasBias = linear.Inputs.Count > 2;
                var name = "gemm" + (hasBias ? "_bias" : "") + (activation == 1 ? "_relu" : activation == 2 ? "_gelu" : "") + (residual is null ? "" : "_residual") + $"_n{n}_k{k}";
                var spec = GraphRewriter.Spec(name, Pattern, ("N", n), ("K", k), ("KW", (k + 7) / 8 * 8), ("ACT", activation), ("HAS_BIAS", hasBias ? 1 : 0), ("HAS_RESIDUAL", residual is null ? 0 : 1));
                var inputs = linear.Inputs.ToList();
                if (residual is not null) inputs.Add(residual.Id);
                g.Fuse(end, OpKind.FusedLinear, inputs, new[] { activation, hasBias ? 1 : 0, residual is null ? 0 : 1 }, 0f, spec, absorbed);
            }
        }

        /// <summary>The only reader of <paramref name="node"/> when it matches; otherwise why not (null when there is no such reader at all).</summary>
        private static bool Next(GraphRewriter g, Node node, System.Func<Node, bool> match, out Node? next, out string? why)
        {
            next = null;
            why = null;
            var readers = g.Readers(node.Id);
            if (!readers.Any(r => match(g[r]) && g.IsFree(r))) return false;
            if (!g.SingleReader(node.Id))
            {
                why = g.WhyShared(node.Id);
                return false;
            }
            next = g[readers[0]];
            return true;
        }
    }
}
