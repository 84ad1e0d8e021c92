using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Add(Add(x, bias), residual) where the bias is a 1-D parameter that no GEMM epilogue took
    /// (x is not a Linear's output): one half2 pass instead of two.
    /// </summary>
    internal static class BiasResidualPattern
    {
        public const string Pattern = "bias_residual";

        public static void Apply(GraphRewriter g)
        {
            foreach (var outer in g.Nodes.Where(n => n.Op == OpKind.Add).ToList())
            {
                if (!g.IsFree(outer.Id)) continue;
                for (int side = 0; side < 2; side++)
                {
                    var inner = g.Input(outer, side);
                    if (inner.Op != OpKind.Add || !g.IsFree(inner.Id)) continue;
                    int biasSide = g.Input(inner, 1).Op == OpKind.Param && g.Input(inner, 1).Shape.Count == 1 ? 1
                        : g.Input(inner, 0).Op == OpKind.Param && g.Input(inner, 0).Shape.Count == 1 ? 0 : -1;
                    if (biasSide < 0) continue;
                    var bias = g.Input(inner, biasSide);
                    var x = g.Input(inner, 1 - biasSide);
                    var residual = g.Input(outer, 1 - side);
                    if (!g.SingleReader(inner.Id)) { g.Reject(outer, Pattern, g.WhyShared(inner.Id)); break; }
                    if (!x.Shape.Equals(outer.Shape) || !residual.Shape.Equals(outer.Shape))
                    {
                        g.Reject(outer, Pattern, $"operands {x.ShapeText} and {residual.ShapeText} are broadcast to {outer.ShapeText}");
                        break;
                    }
                    int c = (int)bias.Shape[0].Value;
                    var spec = GraphRewriter.Spec($"bias_residual_c{c}", Pattern, ("C", c));
                    g.Fuse(outer, OpKind.BiasResidual, new[] { x.Id, bias.Id, residual.Id }, new[] { c }, 0f, spec, new[] { inner.Id });
                    break;
                }
            }
        }
    }
}
