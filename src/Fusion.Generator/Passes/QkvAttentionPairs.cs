using System;
using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Pairs a window attention with the QKV projection whose result only it reads into one <see cref="StepKind.QkvAttention"/> step
    /// (<see cref="StepPairs"/>), so that a backend able to compute q, k and v inside the attention's kernel never stores the
    /// projection's output (three times the activations) and launches one kernel instead of two. Float GEMMs only (the int8 and FP8
    /// plans' projections keep their own steps), a bias and nothing else in the GEMM's epilogue, and an attention with no epilogue of
    /// its own. As with <see cref="MlpPairs"/>, no fusion diagnostic is raised: whether the two become one kernel is the backend's
    /// decision at run time (FUSION_QKV_ATTENTION, the GPU, the shapes).
    /// </summary>
    internal static class QkvAttentionPairs
    {
        /// <param name="isWindowAttention">Whether a graph node is a (fused) window attention.</param>
        public static List<Step> Merge(List<Step> steps, int output, Func<int, bool> isWindowAttention) =>
            StepPairs.Merge(steps, output, acrossConstants: true,
                (projection, attention) => projection.Kind == StepKind.Gemm && attention.Kind == StepKind.Call && isWindowAttention(attention.Node)
                    && attention.Outputs.Count == 1 && StepPairs.BiasOnly(projection.Gemm!),
                (projection, attention) => new Step(StepKind.QkvAttention, false, attention.Node,
                    projection.Inputs.Concat(attention.Inputs.Skip(1)).ToEquatableArray(), attention.Outputs,
                    projection.Members.Concat(attention.Members).ToEquatableArray(), null, projection.Gemm) { SecondAt = projection.Inputs.Count });
    }
}
