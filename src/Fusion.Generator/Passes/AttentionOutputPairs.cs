using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Joins a <see cref="StepKind.QkvAttention"/> step with the output projection that alone reads its result (<see cref="StepPairs"/>):
    /// a float Linear of the attention's C = heads · d features to C, with a bias and nothing else after the product. The joined step
    /// keeps its kind and node, its output is the projection's, and the projection is its <see cref="Step.Second"/> (its weight and bias
    /// from <see cref="Step.OutputAt"/>), so that a backend whose attention computes q, k and v itself can also multiply each window's
    /// heads by the projection before storing them: the attention's output is never written, and one kernel fewer runs. Elsewhere the
    /// backend runs the GEMM after the attention, as before. No fusion diagnostic: whether it runs in one kernel is the backend's
    /// decision at run time (FUSION_QKV_OUT, the GPU, the shapes).
    /// </summary>
    internal static class AttentionOutputPairs
    {
        public static List<Step> Merge(List<Step> steps, int output) =>
            StepPairs.Merge(steps, output, acrossConstants: true,
                (attention, projection) => attention.Kind == StepKind.QkvAttention && attention.Second is null
                    && projection.Kind == StepKind.Gemm && StepPairs.BiasOnly(projection.Gemm!) && projection.Gemm!.N == projection.Gemm.K
                    && projection.Gemm.KW == projection.Gemm.K && projection.Outputs.Count == 1,
                (attention, projection) => attention with
                {
                    Inputs = attention.Inputs.Concat(projection.Inputs.Skip(1)).ToEquatableArray(),
                    Outputs = projection.Outputs,
                    Members = attention.Members.Concat(projection.Members).ToEquatableArray(),
                    Second = projection.Gemm,
                    OutputAt = attention.Inputs.Count,
                });
    }
}
