using System;
using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Joins two per-call steps into one where the first's only result is the second's first input and nothing else reads it (not the
    /// plan's output either): the mechanism of <see cref="MlpPairs"/> and <see cref="QkvAttentionPairs"/>, each of which says which kinds
    /// of steps pair and what the joined step is. Nothing lies between the two, or, where the caller allows it, only
    /// constant steps (they run once in the constant builder, so they move ahead of the joined step); no per-call value's lifetime moves.
    /// </summary>
    internal static class StepPairs
    {
        /// <param name="acrossConstants">Whether constant steps may lie between the two (the window attention's bias and mask do; MLPs
        /// pair only when adjacent, as measured: across constants ConvNeXt's MLPs would pair too, untimed).</param>
        public static List<Step> Merge(List<Step> steps, int output, bool acrossConstants, Func<Step, Step, bool> pairs, Func<Step, Step, Step> join)
        {
            var reads = new Dictionary<int, int>();
            foreach (var i in steps.SelectMany(s => s.Inputs)) reads[i] = reads.TryGetValue(i, out var n) ? n + 1 : 1;
            var result = new List<Step>();
            for (int s = 0; s < steps.Count; s++)
            {
                int next = s + 1;
                while (acrossConstants && next < steps.Count && steps[next].Constant) next++;
                if (next < steps.Count && Feeds(steps[s], steps[next], reads, output) && pairs(steps[s], steps[next]))
                {
                    for (int c = s + 1; c < next; c++) result.Add(steps[c]);
                    result.Add(join(steps[s], steps[next]));
                    s = next;
                    continue;
                }
                result.Add(steps[s]);
            }
            return result;
        }

        /// <summary>A float GEMM with cuBLASLt's plain epilogue forms (no int8 or FP8 scales, no convolution): what the joined kernels take.</summary>
        public static bool PlainFloat(GemmSpec g) => !g.Int8 && !g.Fp8 && g.Conv is null && g.CublasScale < 0 && g.CublasOutScale < 0;

        /// <summary>A plain float GEMM with a bias and nothing else after the product: cuBLASLt's BIAS form, what the attention's projections add.</summary>
        public static bool BiasOnly(GemmSpec g) => PlainFloat(g) && g.CublasActivation == 0 && g.CublasBias >= 0 && g.CublasResidual < 0;

        private static bool Feeds(Step first, Step second, Dictionary<int, int> reads, int output) =>
            !first.Constant && !second.Constant && first.Outputs.Count == 1 && second.Inputs.Count >= 2 && second.Inputs[0] == first.Outputs[0]
            && first.Outputs[0] != output && reads[first.Outputs[0]] == 1;
    }
}
