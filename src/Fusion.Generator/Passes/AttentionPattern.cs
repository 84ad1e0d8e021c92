using System.Collections.Generic;
using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Scaled dot-product attention in every way it is written, as one <c>attention</c> template node (the flash-attention kernel):
    /// <list type="bullet">
    /// <item>the chain Softmax(q·kᵀ [·/÷ c] [+ bias]) → MatMul(·, v), with kᵀ as MatMul(q, k, transposeB) or MatMul(q, Transpose(k)),
    /// q optionally scaled by a constant first (the scales multiply), bias any tensor broadcasting to [B, H, Tq, Tk] added after the
    /// scale (a mask, a learned bias);</item>
    /// <item>an explicit <c>F.Attention(q, k, v, [bias,] scale, causal)</c>.</item>
    /// </list>
    /// Around either, the head split of a packed projection, Select(Permute(Reshape(qkv, [-1, T, 3, H, d]), 2, 0, 3, 1, 4), 0, i), or of
    /// three projections, Permute(Reshape(x, [-1, T, H, d]), 0, 2, 1, 3) each, is absorbed (the kernel reads q, k, v where the
    /// projections wrote them), and so is the head merge after it, Reshape(Permute(·, 0, 2,
    /// 1, 3), [-1, T, H·d]) (the kernel writes the layout the output projection reads): no transpose kernel runs.
    /// </summary>
    internal static class AttentionPattern
    {
        public const string Pattern = "attention";

        /// <summary>Fuses the chain ending in <paramref name="softmax"/>; returns why not, or null when fused.</summary>
        public static string? TryFuseChain(GraphRewriter g, Node softmax)
        {
            if (!g.IsFree(softmax.Id)) return "the softmax already belongs to another fused group";
            if (Dims.Axis(softmax.Attributes.IntOr("axis", -1), softmax.Shape.Count) != softmax.Shape.Count - 1) return "the softmax is not over the last axis";
            var group = new List<int> { softmax.Id };
            double scale = 1;

            // Scores: [Add(·, bias)] of [Mul/Div(·, const)] of q·kᵀ.
            var scores = g.Input(softmax, 0);
            Node? bias = null;
            if (scores.Is(Ops.Add))
            {
                var (left, right) = (g.Input(scores, 0), g.Input(scores, 1));
                bool leftIsProduct = IsProduct(g, left);
                if (!leftIsProduct && !IsProduct(g, right)) return "the scores before softmax are not q·kᵀ (optionally scaled) plus a bias";
                (scores, bias) = leftIsProduct ? (left, right) : (right, left);
                group.Add(g.Input(softmax, 0).Id);
            }
            scores = PeelScales(g, scores, ref scale, group);
            if (scores.Is(Ops.Mul) || scores.Is(Ops.Div)) return $"the scores are scaled by something other than a constant ('{scores.Source}')";
            if (!scores.Is(Ops.MatMul)) return "the scores before softmax are not q·kᵀ";
            var qk = scores;
            group.Add(qk.Id);
            var q = g.Input(qk, 0);
            Node k;
            if (qk.Attributes.IntOr("transposeB", 0) == 1) k = g.Input(qk, 1);
            else
            {
                var kt = g.Input(qk, 1);
                if (!SwapsLastTwo(kt)) return "the scores are q·k, not q·kᵀ (k neither transposed by MatMul nor by Transpose/Permute of its last two axes)";
                group.Add(kt.Id);
                k = g.Input(kt, 0);
            }
            q = PeelScales(g, q, ref scale, group); // a q that is itself a product by a tensor is the q the kernel reads

            // The output side: MatMul(softmax, v).
            if (!g.SingleReader(softmax.Id)) return g.WhyShared(softmax.Id);
            var weighted = g[g.Readers(softmax.Id)[0]];
            if (!weighted.Is(Ops.MatMul) || weighted.Attributes.IntOr("transposeB", 0) != 0 || weighted.Inputs[0] != softmax.Id) return "softmax is not followed by ·v";
            var v = g.Input(weighted, 1);
            foreach (var (t, name) in new[] { (q, "q"), (k, "k"), (v, "v") })
                if (t.Shape.Count != 4 || t.Shape.Skip(1).Any(d => d.Dynamic)) return $"{name} {t.ShapeText} is not [B, H, T, d] with static H, T and d";
            if (q.Shape[1] != k.Shape[1] || q.Shape[3] != k.Shape[3] || !v.Shape.Skip(1).SequenceEqual(k.Shape.Skip(1)))
                return $"q {q.ShapeText}, k {k.ShapeText} and v {v.ShapeText} do not split into the same heads";
            if (bias is not null && Broadcasts(bias, q, k) is { } why) return why;
            foreach (var id in group)
            {
                if (!g.IsFree(id)) return $"'{g[id].Source}' already belongs to another fused group";
                if (!g.SingleReader(id)) return g.WhyShared(id);
            }

            var inputs = new List<int> { q.Id, k.Id, v.Id };
            if (bias is not null) inputs.Add(bias.Id);
            var attributes = AttributeSet.Of(OpAttribute.Real("scale", scale));
            Finish(g, weighted, inputs, attributes, group, bias is not null, causal: false);
            return null;
        }

        /// <summary>Gives an explicit F.Attention node its kernel, absorbing a packed split before it and a head merge after it.</summary>
        public static void FuseExplicit(GraphRewriter g, Node attention)
        {
            int own = AttentionOp.QkvInputs(attention.Attributes);
            bool hasBias = attention.Inputs.Count > own;
            Finish(g, attention, attention.Inputs.ToList(), attention.Attributes, new List<int>(), hasBias, attention.Attributes.IntOr("causal", 0) != 0);
        }

        /// <summary>
        /// Replaces the attention ending at <paramref name="end"/> (inputs q, k, v[, bias]) by one template node, taking in the packed
        /// split of q, k, v and the head merge of the result when they are there and read by nothing else.
        /// </summary>
        private static void Finish(GraphRewriter g, Node end, List<int> inputs, AttributeSet attributes, List<int> group, bool hasBias, bool causal)
        {
            var (q, k, v) = (g[inputs[0]], g[inputs[1]], g[inputs[2]]);
            long heads = q.Shape[1].Value, headDim = q.Shape[3].Value;
            attributes = attributes.With(OpAttribute.Int("heads", heads)).With(OpAttribute.Int("headDim", headDim));
            if (causal) attributes = attributes.With(OpAttribute.Int("causal", 1));

            if (PackedSplit(g, q, k, v, group) is { } split)
            {
                group.AddRange(split.Absorbed);
                inputs = new[] { split.Qkv }.Concat(inputs.Skip(3)).ToList();
                attributes = attributes.With(OpAttribute.Int("packed", 1));
            }
            else if (TokenMajorSplits(g, new[] { q, k, v }, group) is { } sources)
            {
                group.AddRange(sources.Absorbed);
                inputs = sources.Inputs.Concat(inputs.Skip(3)).ToList();
                attributes = attributes.With(OpAttribute.Int("tokenMajor", 1));
            }
            var anchor = end;
            if (HeadMerge(g, end, heads * headDim) is { } merge)
            {
                group.Add(end.Id);
                group.Add(merge.Permute.Id);
                anchor = merge.Reshape;
                attributes = attributes.With(OpAttribute.Int("merged", 1));
            }
            string name = AttentionOp.KernelName((int)headDim, causal, hasBias);
            var spec = GraphRewriter.Spec(name, Pattern, AttentionOp.KernelConstants((int)headDim, causal, hasBias).Select(c => (c.Key, c.Value)).ToArray());
            g.Fuse(anchor, Ops.Attention, inputs, attributes, spec, group.Where(id => id != anchor.Id));
        }

        /// <summary>q, k, v as Select(p, 0, 0/1/2) of p = Permute(Reshape(qkv, [-1, T, 3, H, d]), 2, 0, 3, 1, 4), p read only by them.</summary>
        private static (int Qkv, int[] Absorbed)? PackedSplit(GraphRewriter g, Node q, Node k, Node v, List<int> group)
        {
            var selects = new[] { q, k, v };
            for (int i = 0; i < 3; i++)
                if (!selects[i].Is(Ops.Select) || selects[i].Attributes.Int("axis") != 0 || selects[i].Attributes.Int("index") != i) return null;
            var permuted = g.Input(q, 0);
            if (g.Input(k, 0).Id != permuted.Id || g.Input(v, 0).Id != permuted.Id) return null;
            if (!permuted.Is(Ops.Permute) || !permuted.Attributes.Ints("axes").SequenceEqual(new long[] { 2, 0, 3, 1, 4 })) return null;
            var split = g.Input(permuted, 0);
            if (!split.Is(Ops.Reshape) || split.Shape.Count != 5 || split.Shape[2] != Dim.Static(3)) return null;
            var qkv = g.Input(split, 0);
            if (qkv.Shape.Count != 3 || qkv.Shape[1] != split.Shape[1] || qkv.Shape[2] != Dim.Static(3 * split.Shape[3].Value * split.Shape[4].Value)) return null;
            var absorbed = new[] { q.Id, k.Id, v.Id, permuted.Id, split.Id };
            if (absorbed.Any(id => !g.IsFree(id) || group.Contains(id))) return null;
            if (g.Readers(permuted.Id).Count != 3 || selects.Any(s => !g.SingleReader(s.Id)) || !g.SingleReader(split.Id)) return null;
            return (qkv.Id, absorbed);
        }

        /// <summary>
        /// q, k, v each as Permute(Reshape(x, [-1, T, H, d]), 0, 2, 1, 3) of a [B, T, H·d] tensor x (its own projection's output),
        /// the reshape and permute read only there: the kernel reads x with head stride d and token stride H·d instead.
        /// </summary>
        private static (int[] Inputs, int[] Absorbed)? TokenMajorSplits(GraphRewriter g, Node[] qkv, List<int> group)
        {
            var inputs = new int[3];
            var absorbed = new List<int>();
            for (int i = 0; i < 3; i++)
            {
                var permute = qkv[i];
                if (!permute.Is(Ops.Permute) || !permute.Attributes.Ints("axes").SequenceEqual(new long[] { 0, 2, 1, 3 })) return null;
                var reshape = g.Input(permute, 0);
                if (!reshape.Is(Ops.Reshape) || reshape.Shape.Count != 4) return null;
                var source = g.Input(reshape, 0);
                if (source.Shape.Count != 3 || source.Shape[1] != reshape.Shape[1] || source.Shape[2] != Dim.Static(reshape.Shape[2].Value * reshape.Shape[3].Value))
                    return null;
                if (!g.IsFree(permute.Id) || !g.IsFree(reshape.Id) || group.Contains(permute.Id) || !g.SingleReader(permute.Id) || !g.SingleReader(reshape.Id))
                    return null;
                inputs[i] = source.Id;
                absorbed.Add(permute.Id);
                absorbed.Add(reshape.Id);
            }
            return (inputs, absorbed.ToArray());
        }

        /// <summary>Reshape(Permute(end, 0, 2, 1, 3), [-1, T, H·d]) read only in that order.</summary>
        private static (Node Permute, Node Reshape)? HeadMerge(GraphRewriter g, Node end, long width)
        {
            if (!g.SingleReader(end.Id)) return null;
            var permute = g[g.Readers(end.Id)[0]];
            if (!permute.Is(Ops.Permute) || !permute.Attributes.Ints("axes").SequenceEqual(new long[] { 0, 2, 1, 3 }) || !g.IsFree(permute.Id)) return null;
            if (!g.SingleReader(permute.Id)) return null;
            var reshape = g[g.Readers(permute.Id)[0]];
            if (!reshape.Is(Ops.Reshape) || !g.IsFree(reshape.Id) || reshape.Shape.Count != 3 || reshape.Shape[1] != end.Shape[2] || reshape.Shape[2] != Dim.Static(width))
                return null;
            return (permute, reshape);
        }

        /// <summary>Whether <paramref name="node"/> is a product (MatMul), possibly under constant scales: the scores side of a bias add.</summary>
        private static bool IsProduct(GraphRewriter g, Node node)
        {
            double ignored = 1;
            return PeelScales(g, node, ref ignored, null).Is(Ops.MatMul);
        }

        /// <summary>
        /// Walks down Mul/Div by constants from <paramref name="node"/>, multiplying their factors into <paramref name="scale"/> (a
        /// divisor as its inverse) and adding each to <paramref name="group"/>; returns the first node that is not such a scale.
        /// </summary>
        private static Node PeelScales(GraphRewriter g, Node node, ref double scale, List<int>? group)
        {
            while ((node.Is(Ops.Mul) || node.Is(Ops.Div)) && Constant(g, node, allowLeft: node.Is(Ops.Mul)) is { } c)
            {
                scale *= node.Is(Ops.Mul) ? c : 1 / c;
                group?.Add(node.Id);
                node = g.Input(node, ScaledInput(g, node));
            }
            return node;
        }

        /// <summary>The constant factor of a Mul (either side) or the divisor of a Div; null when neither side is a constant.</summary>
        private static double? Constant(GraphRewriter g, Node node, bool allowLeft)
        {
            if (g.Input(node, 1).Is(Ops.Const)) return g.Input(node, 1).Attributes.Float("value");
            if (allowLeft && g.Input(node, 0).Is(Ops.Const)) return g.Input(node, 0).Attributes.Float("value");
            return null;
        }

        /// <summary>The input of a scaling Mul/Div that is not the constant.</summary>
        private static int ScaledInput(GraphRewriter g, Node node) => g.Input(node, 1).Is(Ops.Const) ? 0 : 1;

        private static bool SwapsLastTwo(Node node) => node.Shape.Count == 4 && (
            (node.Is(Ops.Permute) && node.Attributes.Ints("axes").SequenceEqual(new long[] { 0, 1, 3, 2 }))
            || (node.Is(Ops.Transpose) && new[] { Dims.Axis(node.Attributes.Int("dim0"), 4), Dims.Axis(node.Attributes.Int("dim1"), 4) }.OrderBy(a => a).SequenceEqual(new[] { 2, 3 })));

        /// <summary>Why <paramref name="bias"/> does not broadcast to [B, H, Tq, Tk] the way the kernel reads it, or null.</summary>
        private static string? Broadcasts(Node bias, Node q, Node k)
        {
            var s = bias.Shape;
            int r = s.Count;
            bool fits = r >= 2 && r <= 4 && s[r - 2] == q.Shape[2] && s[r - 1] == k.Shape[2]
                && (r < 3 || s[r - 3] == q.Shape[1] || s[r - 3] == Dim.Static(1))
                && (r < 4 || s[0] == q.Shape[0] || s[0] == Dim.Static(1));
            return fits ? null : $"the bias {bias.ShapeText} does not broadcast to [B, {q.Shape[1]}, {q.Shape[2]}, {k.Shape[2]}] as [(B|1,) (H|1,) Tq, Tk]";
        }
    }
}
