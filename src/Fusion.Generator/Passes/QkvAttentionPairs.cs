using System;
using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Pairs a window attention with the QKV projection whose result only it reads into one <see cref="StepKind.QkvAttention"/> step,
    /// so that a backend able to compute q, k and v inside the attention's kernel never stores the projection's output (three times
    /// the activations) and launches one kernel instead of two. Only steps with nothing but constant steps between them pair, so no
    /// per-call value's lifetime moves; float GEMMs
    /// only (the int8 and FP8 plans' projections keep their own steps), a bias and nothing else in the GEMM's epilogue, and an attention
    /// with no epilogue of its own. As with <see cref="MlpPairs"/>, no fusion diagnostic is raised: whether the two become one kernel is
    /// the backend's decision at run time (FUSION_QKV_ATTENTION, the GPU, the shapes).
    /// </summary>
    internal static class QkvAttentionPairs
    {
        /// <param name="isWindowAttention">Whether a graph node is a (fused) window attention.</param>
        public static List<Step> Merge(List<Step> steps, int output, Func<int, bool> isWindowAttention)
        {
            var reads = new Dictionary<int, int>();
            foreach (var i in steps.SelectMany(s => s.Inputs)) reads[i] = reads.TryGetValue(i, out var n) ? n + 1 : 1;
            var result = new List<Step>();
            for (int s = 0; s < steps.Count; s++)
            {
                // Constant steps between the two (the attention's bias and mask, built once at load) run in the constant builder,
                // so they may move ahead of the pair.
                int next = s + 1;
                while (next < steps.Count && steps[next].Constant) next++;
                if (next < steps.Count && Pairs(steps[s], steps[next], reads, output, isWindowAttention))
                {
                    var (projection, attention) = (steps[s], steps[next]);
                    for (int c = s + 1; c < next; c++) result.Add(steps[c]);
                    result.Add(new Step(StepKind.QkvAttention, false, attention.Node, projection.Inputs.Concat(attention.Inputs.Skip(1)).ToEquatableArray(),
                        attention.Outputs, projection.Members.Concat(attention.Members).ToEquatableArray(), null, projection.Gemm) { SecondAt = projection.Inputs.Count });
                    s = next;
                    continue;
                }
                result.Add(steps[s]);
            }
            return result;
        }

        private static bool Pairs(Step projection, Step attention, Dictionary<int, int> reads, int output, Func<int, bool> isWindowAttention) =>
            projection.Kind == StepKind.Gemm && attention.Kind == StepKind.Call && !projection.Constant && !attention.Constant
            && isWindowAttention(attention.Node) && attention.Outputs.Count == 1
            && projection.Outputs.Count == 1 && attention.Inputs.Count >= 2 && attention.Inputs[0] == projection.Outputs[0]
            && projection.Outputs[0] != output && reads[projection.Outputs[0]] == 1
            && IsBiasOnly(projection.Gemm!);

        /// <summary>A bias and nothing else after the product: cuBLASLt's BIAS form, what the attention's prologue adds.</summary>
        private static bool IsBiasOnly(GemmSpec g) =>
            !g.Int8 && !g.Fp8 && g.Conv is null && g.CublasScale < 0 && g.CublasOutScale < 0
            && g.CublasActivation == 0 && g.CublasBias >= 0 && g.CublasResidual < 0;
    }
}
