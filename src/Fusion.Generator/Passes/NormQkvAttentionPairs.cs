using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Joins a generated LayerNorm + (Roll) + WindowPartition kernel with the <see cref="StepKind.QkvAttention"/> step that alone reads
    /// its result (<see cref="StepPairs"/>): a Swin block's norm1, shift and window partition in front of its attention. The joined step
    /// keeps the norm kernel (<see cref="Step.Kernel"/>, its inputs first: x, weight, bias) and says where each window's token comes
    /// from (<see cref="WindowNormSpec"/>), so that a backend whose attention computes q, k and v itself can also gather each window
    /// from the un-partitioned image and normalize it in shared memory: the normalized, partitioned tensor is never written, and one
    /// kernel fewer runs. Elsewhere the backend runs the norm kernel and then the QKV attention, as before. Only a kernel that is exactly
    /// these operators, with one output and inputs in the LayerNorm's order, over a [B, H, W, C] image rolled along H and W by one shift.
    /// No fusion diagnostic is raised: whether the prologue runs is the backend's decision at run time, as for the QKV attention.
    /// </summary>
    internal static class NormQkvAttentionPairs
    {
        public static List<Step> Merge(List<Step> steps, int output, IReadOnlyList<Node> nodes) =>
            StepPairs.Merge(steps, output, acrossConstants: true,
                (norm, attention) => attention.Kind == StepKind.QkvAttention && attention.Norm is null && Geometry(norm, nodes) is not null,
                (norm, attention) => new Step(StepKind.QkvAttention, false, attention.Node,
                    norm.Inputs.Concat(attention.Inputs.Skip(1)).ToEquatableArray(), attention.Outputs,
                    norm.Members.Concat(attention.Members).ToEquatableArray(), norm.Kernel, attention.Gemm)
                {
                    SecondAt = attention.SecondAt - 1 + norm.Inputs.Count,
                    Norm = Geometry(norm, nodes),
                });

        /// <summary>Where the norm kernel's windows come from, or null when the step is not exactly LayerNorm → (Roll) → WindowPartition.</summary>
        private static WindowNormSpec? Geometry(Step step, IReadOnlyList<Node> nodes)
        {
            if (step.Kind != StepKind.Kernel || step.Outputs.Count != 1 || step.Members.Count is < 2 or > 3) return null;
            var partition = nodes[step.Outputs[0]];
            if (!partition.Is(Ops.WindowPartition)) return null;
            var before = nodes[partition.Inputs[0]];
            Node? roll = before.Is(Ops.Roll) ? before : null;
            var norm = roll is null ? before : nodes[roll.Inputs[0]];
            if (!norm.Is(Ops.LayerNorm) || step.Members.Count != (roll is null ? 2 : 3)
                || !step.Members.Contains(norm.Id) || (roll is not null && !step.Members.Contains(roll.Id)))
                return null;
            // The kernel's own inputs must be the LayerNorm's, in its order: the backend's fallback runs the kernel with them.
            if (!step.Inputs.SequenceEqual(norm.Inputs)) return null;
            var image = norm.Shape;
            if (image.Count != 4 || image[1].Dynamic || image[2].Dynamic || image[3].Dynamic) return null;
            long shift = 0;
            if (roll is not null)
            {
                var axes = roll.Attributes.Ints("axes").Select(a => a < 0 ? a + 4 : a).OrderBy(a => a).ToArray();
                if (!axes.SequenceEqual(new long[] { 1, 2 })) return null;
                shift = roll.Attributes.Int("shift");
            }
            return new WindowNormSpec(norm.Attributes.Float("eps"), (int)image[1].Value, (int)image[2].Value, (int)partition.Attributes.Int("window"), (int)shift);
        }
    }
}
