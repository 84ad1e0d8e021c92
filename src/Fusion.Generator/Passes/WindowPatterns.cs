using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// The two memory-bound Swin patterns around attention: LayerNorm → Roll(−s) → WindowPartition
    /// becomes one ln_shift_partition pass (statistics in registers, output in window order), and
    /// WindowReverse → Roll(+s) → Add(residual) becomes one window_reverse_residual pass.
    /// </summary>
    internal static class WindowPatterns
    {
        public const string LayerNormPartition = "ln_shift_partition";
        public const string ReverseResidual = "window_reverse_residual";

        /// <summary>Rows longer than this would not fit the kernel's per-lane register array without spilling.</summary>
        private const int MaxChannels = 2048;

        public static void ApplyLayerNormPartition(GraphRewriter g)
        {
            foreach (var partition in g.Nodes.Where(n => n.Op == OpKind.WindowPartition).ToList())
            {
                var source = g.Input(partition, 0);
                var norm = source;
                int roll = 0;
                if (source.Op == OpKind.Roll)
                {
                    if (!IsSpatialRoll(source)) { g.Reject(partition, LayerNormPartition, "the roll before the partition is not over axes 1 and 2"); continue; }
                    roll = source.Ints[0];
                    norm = g.Input(source, 0);
                }
                if (norm.Op != OpKind.LayerNorm) continue; // not a candidate: nothing to fuse with
                var why = Blocked(g, norm.Id, source.Id) ?? ShiftProblem(norm, roll, out int shift) ?? ChannelProblem(norm);
                if (why is not null) { g.Reject(partition, LayerNormPartition, why); continue; }

                var (h, w, c) = Spatial(norm);
                int window = partition.Ints[0];
                ShiftProblem(norm, roll, out shift);
                var spec = GraphRewriter.Spec($"ln_shift_partition_c{c}_h{h}x{w}_w{window}_s{shift}", LayerNormPartition,
                    ("C", c), ("H", h), ("W", w), ("WINDOW", window), ("SHIFT", shift));
                g.Fuse(partition, OpKind.LayerNormWindowPartition, norm.Inputs, new[] { window, shift, h, w, c }, norm.Float, spec,
                    new[] { norm.Id, source.Id });
            }
        }

        public static void ApplyReverseResidual(GraphRewriter g)
        {
            foreach (var add in g.Nodes.Where(n => n.Op == OpKind.Add).ToList())
            {
                if (!g.IsFree(add.Id)) continue;
                for (int side = 0; side < 2; side++)
                {
                    var source = g.Input(add, side);
                    var reverse = source;
                    int roll = 0;
                    if (source.Op == OpKind.Roll && IsSpatialRoll(source))
                    {
                        roll = source.Ints[0];
                        reverse = g.Input(source, 0);
                    }
                    if (reverse.Op != OpKind.WindowReverse) continue;
                    var residual = g.Input(add, 1 - side);
                    var why = Blocked(g, reverse.Id, source.Id)
                        ?? (!residual.Shape.Equals(add.Shape) ? $"the residual {residual.ShapeText} is broadcast to {add.ShapeText}" : null)
                        ?? ShiftProblem(reverse, -roll, out _);
                    if (why is not null) { g.Reject(add, ReverseResidual, why); break; }

                    var (h, w, c) = Spatial(reverse);
                    ShiftProblem(reverse, -roll, out int shift); // the roll after the reverse is +shift: read (i − shift)
                    int window = reverse.Ints[0];
                    var spec = GraphRewriter.Spec($"window_reverse_residual_c{c}_h{h}x{w}_w{window}_s{shift}", ReverseResidual,
                        ("C", c), ("H", h), ("W", w), ("WINDOW", window), ("SHIFT", shift));
                    g.Fuse(add, OpKind.WindowReverseResidual, new[] { reverse.Inputs[0], residual.Id }, new[] { window, shift, h, w, c }, 0f, spec,
                        new[] { reverse.Id, source.Id });
                    break;
                }
            }
        }

        private static bool IsSpatialRoll(Node roll) => roll.Ints.Count == 3 && roll.Ints.Skip(1).OrderBy(a => a).SequenceEqual(new[] { 1, 2 });

        /// <summary>Why the chain first..last cannot be fused (a value read elsewhere or already claimed), or null.</summary>
        private static string? Blocked(GraphRewriter g, int first, int last)
        {
            foreach (var id in new[] { first, last }.Distinct())
            {
                if (!g.IsFree(id)) return $"'{g[id].Source}' already belongs to another fused group";
                if (!g.SingleReader(id)) return g.WhyShared(id);
            }
            return null;
        }

        /// <summary>
        /// The kernel reads x[(i + shift) mod H]: a roll by −s before the partition is shift s. The same
        /// shift applies to both axes, so a non-square image can only use shift 0.
        /// </summary>
        private static string? ShiftProblem(Node image, int roll, out int shift)
        {
            var (h, w, _) = Spatial(image);
            shift = 0;
            if (roll == 0) return null;
            if (h != w) return $"a shifted window on a non-square {h}×{w} image";
            shift = ((-roll % h) + h) % h;
            return null;
        }

        private static string? ChannelProblem(Node image)
        {
            var (_, _, c) = Spatial(image);
            return c > MaxChannels ? $"{c} channels exceed the {MaxChannels} a warp keeps in registers" : null;
        }

        private static (int H, int W, int C) Spatial(Node image) =>
            ((int)image.Shape[1].Value, (int)image.Shape[2].Value, (int)image.Shape[3].Value);
    }
}
