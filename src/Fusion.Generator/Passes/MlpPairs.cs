using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Pairs a Linear with an activation epilogue and the Linear that alone reads its result (an MLP's up and down projections)
    /// into one <see cref="StepKind.Mlp"/> step, so that a backend with a fused MLP kernel computes both without storing the hidden
    /// tensor (four times the activations in Swin-T, ViT and ConvNeXt). Only consecutive steps pair, so nothing's lifetime moves.
    /// Float GEMMs only (the int8 and FP8 plans' Linears keep their own steps), and only forms the fused kernel could take: the first
    /// GEMM's epilogue bias + GELU (cuBLASLt's expressible form), the second's bias, optionally a residual, no activation. The plan's
    /// report lists the step; no fusion diagnostic is raised for it, since whether the two GEMMs become one kernel is the backend's
    /// decision at run time (FUSION_MLP, the GPU, the shapes).
    /// </summary>
    internal static class MlpPairs
    {
        public static List<Step> Merge(List<Step> steps, int output)
        {
            var reads = new Dictionary<int, int>();
            foreach (var i in steps.SelectMany(s => s.Inputs)) reads[i] = reads.TryGetValue(i, out var n) ? n + 1 : 1;
            var result = new List<Step>();
            for (int s = 0; s < steps.Count; s++)
            {
                if (s + 1 < steps.Count && Pairs(steps[s], steps[s + 1], reads, output))
                {
                    var (up, down) = (steps[s], steps[s + 1]);
                    result.Add(new Step(StepKind.Mlp, false, up.Node, up.Inputs.Concat(down.Inputs.Skip(1)).ToEquatableArray(), down.Outputs,
                        up.Members.Concat(down.Members).ToEquatableArray(), null, up.Gemm) { Second = down.Gemm, SecondAt = up.Inputs.Count });
                    s++;
                    continue;
                }
                result.Add(steps[s]);
            }
            return result;
        }

        private static bool Pairs(Step up, Step down, Dictionary<int, int> reads, int output) =>
            up.Kind == StepKind.Gemm && down.Kind == StepKind.Gemm && !up.Constant && !down.Constant
            && up.Outputs.Count == 1 && down.Inputs.Count >= 2 && down.Inputs[0] == up.Outputs[0]
            && up.Outputs[0] != output && reads[up.Outputs[0]] == 1
            && IsUp(up.Gemm!) && IsDown(down.Gemm!) && down.Gemm!.K == up.Gemm!.N;

        /// <summary>bias + GELU (erf or tanh), nothing else: cuBLASLt's GELU_BIAS form.</summary>
        private static bool IsUp(GemmSpec g) =>
            Plain(g) && g.CublasActivation is 2 or 3 && g.CublasBias >= 0 && g.CublasResidual < 0;

        /// <summary>bias, then a residual or not, no activation.</summary>
        private static bool IsDown(GemmSpec g) =>
            Plain(g) && g.CublasActivation == 0 && g.CublasBias >= 0 && !g.CublasResidualFirst;

        private static bool Plain(GemmSpec g) => !g.Int8 && !g.Fp8 && g.Conv is null && g.CublasScale < 0 && g.CublasOutScale < 0;
    }
}
