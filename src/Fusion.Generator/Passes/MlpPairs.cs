using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Pairs a Linear with an activation epilogue and the Linear that alone reads its result (an MLP's up and down projections)
    /// into one <see cref="StepKind.Mlp"/> step (<see cref="StepPairs"/>), so that a backend with a fused MLP kernel computes both
    /// without storing the hidden tensor (four times the activations in Swin-T, ViT and ConvNeXt). Float GEMMs only (the int8 and FP8
    /// plans' Linears keep their own steps), and only forms the fused kernel could take: the first GEMM's epilogue bias + GELU
    /// (cuBLASLt's expressible form), the second's bias, optionally a residual, no activation. The plan's report lists the step; no
    /// fusion diagnostic is raised for it, since whether the two GEMMs become one kernel is the backend's decision at run time
    /// (FUSION_MLP, the GPU, the shapes).
    /// </summary>
    internal static class MlpPairs
    {
        public static List<Step> Merge(List<Step> steps, int output) =>
            StepPairs.Merge(steps, output, acrossConstants: false,
                (up, down) => up.Kind == StepKind.Gemm && down.Kind == StepKind.Gemm && IsUp(up.Gemm!) && IsDown(down.Gemm!) && down.Gemm!.K == up.Gemm!.N,
                (up, down) => new Step(StepKind.Mlp, false, up.Node, up.Inputs.Concat(down.Inputs.Skip(1)).ToEquatableArray(), down.Outputs,
                    up.Members.Concat(down.Members).ToEquatableArray(), null, up.Gemm) { Second = down.Gemm, SecondAt = up.Inputs.Count });

        /// <summary>bias + GELU (erf or tanh), nothing else: cuBLASLt's GELU_BIAS form.</summary>
        private static bool IsUp(GemmSpec g) =>
            StepPairs.PlainFloat(g) && g.CublasActivation is 2 or 3 && g.CublasBias >= 0 && g.CublasResidual < 0;

        /// <summary>bias, then a residual or not, no activation.</summary>
        private static bool IsDown(GemmSpec g) =>
            StepPairs.PlainFloat(g) && g.CublasActivation == 0 && g.CublasBias >= 0 && !g.CublasResidualFirst;
    }
}
