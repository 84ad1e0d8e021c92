using System.Collections.Generic;
using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// softmax(q·kᵀ·scale + bias [+ mask]) · v, with q, k, v selected from the QKV projection's
    /// output reshaped to [-1, N, 3, heads, d] and permuted (2, 0, 3, 1, 4), and the result permuted
    /// (0, 2, 1, 3) and reshaped to [-1, N, heads·d]: one window_attention kernel that reads the
    /// projection's output directly and writes the head-merged layout, so no transpose runs.
    /// </summary>
    internal static class WindowAttentionPattern
    {
        public const string Pattern = "window_attention";

        /// <summary>Fuses the window attention ending in <paramref name="softmax"/>; returns why not, or null when fused.</summary>
        public static string? TryFuse(GraphRewriter g, Node softmax)
        {
            var group = new List<int> { softmax.Id };

            // Scores: Add(MatMul(q, k, ᵀ), bias), optionally wrapped as Reshape(Add(Reshape(·), Reshape(mask))).
            var scores = g.Input(softmax, 0);
            if (Dims.Axis(softmax.Attributes.IntOr("axis", -1), softmax.Shape.Count) != softmax.Shape.Count - 1) return "the softmax is not over the last axis";
            Node? mask = null;
            if (scores.Is(Ops.Reshape))
            {
                var masked = g.Input(scores, 0);
                if (!masked.Is(Ops.Add)) return "the scores before softmax are not (q·kᵀ + bias) + mask";
                var (unmasked, maskView) = g.Input(masked, 0).Is(Ops.Reshape) && g.Input(g.Input(masked, 0), 0).Is(Ops.Add)
                    ? (g.Input(masked, 0), g.Input(masked, 1))
                    : (g.Input(masked, 1), g.Input(masked, 0));
                if (!unmasked.Is(Ops.Reshape) || !maskView.Is(Ops.Reshape)) return "the mask is not added through window-major reshapes";
                mask = g.Input(maskView, 0);
                if (mask.Shape.Count != 3 || mask.Shape.Any(d => d.Dynamic)) return $"the mask {mask.ShapeText} is not a static [windows, N, N] table";
                group.AddRange(new[] { scores.Id, masked.Id, unmasked.Id, maskView.Id });
                scores = g.Input(unmasked, 0);
            }
            if (!scores.Is(Ops.Add)) return "the scores before softmax are not q·kᵀ + bias";
            group.Add(scores.Id);
            var (product, bias) = g.Input(scores, 0).Is(Ops.MatMul) ? (g.Input(scores, 0), g.Input(scores, 1)) : (g.Input(scores, 1), g.Input(scores, 0));
            if (!product.Is(Ops.MatMul) || product.Attributes.IntOr("transposeB", 0) != 1) return "the scores are not q·kᵀ";
            if (bias.Shape.Count != 3 || bias.Shape.Any(d => d.Dynamic)) return $"the bias {bias.ShapeText} is not a static [heads, N, N] table";
            group.Add(product.Id);

            var scaled = g.Input(product, 0);
            var k = g.Input(product, 1);
            if (!scaled.Is(Ops.Mul)) return "q is not scaled by a constant before q·kᵀ";
            int constSide = g.Input(scaled, 1).Is(Ops.Const) ? 1 : g.Input(scaled, 0).Is(Ops.Const) ? 0 : -1;
            if (constSide < 0) return "q is not scaled by a constant before q·kᵀ";
            double scale = g.Input(scaled, constSide).Attributes.Float("value");
            var q = g.Input(scaled, 1 - constSide);
            group.AddRange(new[] { scaled.Id, q.Id, k.Id });

            // The output side: MatMul(softmax, v) → Permute(0, 2, 1, 3) → Reshape(-1, N, heads·d).
            if (!g.SingleReader(softmax.Id)) return g.WhyShared(softmax.Id);
            var weighted = g[g.Readers(softmax.Id)[0]];
            if (!weighted.Is(Ops.MatMul) || weighted.Attributes.IntOr("transposeB", 0) != 0 || weighted.Inputs[0] != softmax.Id) return "softmax is not followed by ·v";
            var v = g.Input(weighted, 1);
            if (!g.SingleReader(weighted.Id)) return g.WhyShared(weighted.Id);
            var merged = g[g.Readers(weighted.Id)[0]];
            if (!merged.Is(Ops.Permute) || !merged.Attributes.Ints("axes").SequenceEqual(new long[] { 0, 2, 1, 3 })) return "the heads are not merged by Permute(0, 2, 1, 3)";
            if (!g.SingleReader(merged.Id)) return g.WhyShared(merged.Id);
            var output = g[g.Readers(merged.Id)[0]];
            if (!output.Is(Ops.Reshape) || output.Shape.Count != 3) return "the merged heads are not reshaped to [windows, N, C]";
            group.AddRange(new[] { weighted.Id, v.Id, merged.Id });

            // q, k, v: Select(p, 0, 0/1/2) of p = Permute(Reshape(qkv, -1, N, 3, heads, d), 2, 0, 3, 1, 4).
            foreach (var (select, index) in new[] { (q, 0), (k, 1), (v, 2) })
            {
                if (!select.Is(Ops.Select) || select.Attributes.Int("axis") != 0 || select.Attributes.Int("index") != index) return $"{"qkv"[index]} is not Select(qkv, 0, {index})";
            }
            var permuted = g.Input(q, 0);
            if (g.Input(k, 0).Id != permuted.Id || g.Input(v, 0).Id != permuted.Id) return "q, k and v do not come from one projection";
            if (!permuted.Is(Ops.Permute) || !permuted.Attributes.Ints("axes").SequenceEqual(new long[] { 2, 0, 3, 1, 4 })) return "q, k and v are not split by Permute(2, 0, 3, 1, 4)";
            var split = g.Input(permuted, 0);
            if (!split.Is(Ops.Reshape) || split.Shape.Count != 5 || split.Shape[2].Value != 3 || split.Shape[2].Dynamic) return "the projection is not reshaped to [-1, N, 3, heads, d]";
            group.AddRange(new[] { permuted.Id, split.Id });

            foreach (var id in group.Distinct())
            {
                if (!g.IsFree(id)) return $"'{g[id].Source}' already belongs to another fused group";
                if (id == permuted.Id) { if (g.Readers(id).Count != 3) return g.WhyShared(id); }
                else if (!g.SingleReader(id)) return g.WhyShared(id);
            }

            int tokens = (int)split.Shape[1].Value, heads = (int)split.Shape[3].Value, headDim = (int)split.Shape[4].Value;
            if (bias.Shape[0].Value != heads || bias.Shape[1].Value != tokens || bias.Shape[2].Value != tokens)
                return $"the bias {bias.ShapeText} does not match {heads} heads of {tokens} tokens";
            int windows = mask is null ? 1 : (int)mask.Shape[0].Value;
            if (mask is not null && (mask.Shape[1].Value != tokens || mask.Shape[2].Value != tokens))
                return $"the mask {mask.ShapeText} does not match {tokens} tokens";

            // The projection's weight and bias are re-laid out at load so it writes (heads, 3, d) per token:
            // each head's q, k and v side by side, which is what the kernel reads.
            var projection = g[split.Inputs[0]];
            if (!projection.Is(Ops.Linear) || !g.IsFree(projection.Id))
                return "the QKV projection is not a Linear whose weights can be re-laid out at load";
            if (!g.SingleReader(projection.Id)) return g.WhyShared(projection.Id);
            for (int input = 1; input < projection.Inputs.Count; input++)
            {
                var parameter = g[projection.Inputs[input]];
                if (!parameter.Is(Ops.Param)) return "the QKV projection's weights are not parameters";
                int relaid = g.AddNode(Ops.QkvRelayout, new[] { parameter.Id }, AttributeSet.Of(OpAttribute.Int("heads", heads)), parameter.Shape,
                    $"QKV re-layout of {parameter.Name} to (heads, 3, d)", projection);
                g.Rewire(projection, input, relaid);
            }

            var name = $"window_attention_h{heads}_d{headDim}_t{tokens}" + (mask is null ? "" : $"_nw{windows}_masked");
            var spec = GraphRewriter.Spec(name, Pattern, ("HEADS", heads), ("HEAD_DIM", headDim), ("TOKENS", tokens), ("WINDOWS", windows), ("HAS_MASK", mask is null ? 0 : 1));
            var inputs = mask is null ? new[] { split.Inputs[0], bias.Id } : new[] { split.Inputs[0], bias.Id, mask.Id };
            var attributes = AttributeSet.Of(OpAttribute.Int("heads", heads), OpAttribute.Int("headDim", headDim), OpAttribute.Int("tokens", tokens),
                OpAttribute.Int("windows", windows), OpAttribute.Real("scale", scale));
            g.Fuse(output, Ops.WindowAttention, inputs, attributes, spec, group);
            return null;
        }
    }
}
