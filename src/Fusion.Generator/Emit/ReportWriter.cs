using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// The fusion report at the top of the generated file: the template patterns' decisions, then per precision plan each
    /// kernel with the operators it fuses and each candidate left unfused with the reason.
    /// </summary>
    internal static class ReportWriter
    {
        public static void Write(IndentedWriter w, ModelGraph graph)
        {
            var templates = graph.Decisions.Where(d => d.Fused).ToList();
            var rejected = graph.Decisions.Where(d => !d.Fused).ToList();
            w.Line($"// Fusion report. Templates: {templates.Count} fused groups, {rejected.Count} candidates not fused.");
            foreach (var d in templates)
            {
                w.Line($"//   {d.Kernel} ({d.Pattern}, {d.Operators.Count} ops) at {Where(d)}");
                w.Line($"//       {string.Join(" → ", d.Operators)}");
            }
            foreach (var d in rejected) w.Line($"//   not fused ({d.Pattern}) at {Where(d)}: {d.Operators.FirstOrDefault()}: {d.Reason}");
            foreach (var plan in graph.Plans)
            {
                var schedule = plan.Schedule;
                if (schedule is null) continue;
                var steps = schedule.Steps;
                int kernels = steps.Count(s => s.Kind == StepKind.Kernel), gemms = steps.Count(s => s.Kind == StepKind.Gemm), mlps = steps.Count(s => s.Kind == StepKind.Mlp);
                int qkvAttentions = steps.Count(s => s.Kind == StepKind.QkvAttention), normPrologues = steps.Count(s => s.Norm is not null);
                int outputProjections = steps.Count(s => s.Kind == StepKind.QkvAttention && s.Second is not null);
                int calls = steps.Count(s => s.Kind == StepKind.Call), views = steps.Count(s => s.Kind is StepKind.View or StepKind.Convert);
                int withEpilogues = steps.Count(s => s.Kind == StepKind.Template);
                int notFused = schedule.Decisions.Count(d => !d.Fused);
                w.Line($"// Plan {plan.Name(graph.Plans.Count(q => q.Target == plan.Target) > 1)}: {steps.Count} steps: {kernels} generated kernels, {gemms} GEMMs with generated epilogues, " +
                    (mlps > 0 ? $"{mlps} MLPs (two GEMMs each, one kernel where the backend fuses them), " : "") +
                    (qkvAttentions > 0 ? $"{qkvAttentions} window attentions with their QKV projections (one kernel where the backend computes q, k and v in the attention" +
                        (normPrologues > 0 ? $"; {normPrologues} with the norm and window partition before them, which it then also computes" : "") +
                        (outputProjections > 0 ? $"; {outputProjections} with the output projection after them, which it then also computes" : "") + "), " : "") +
                    (withEpilogues > 0 ? $"{withEpilogues} templates with generated epilogues, " : "") + $"{calls} backend calls, {views} views; {notFused} fusions refused.");
                foreach (var step in steps.Where(s => s.Kind is StepKind.Kernel or StepKind.Gemm or StepKind.Template or StepKind.Mlp or StepKind.QkvAttention))
                {
                    var node = plan.Nodes[step.Node];
                    var ops = step.Members.Select(m => plan.Nodes[m]).Where(n => !n.Is(Ops.Const)).ToList();
                    string name = step.Kind == StepKind.QkvAttention ? QkvAttentionName(step, node) : step.KernelName;
                    string what = step.Kind switch
                    {
                        StepKind.Gemm => "gemm, " + (step.Gemm!.Int8 ? "int8 template only" : step.Gemm.Fp8 ? (step.Gemm.CublasActivation < 0 ? "cuBLASLt FP8 product then the epilogue kernel" : "cuBLASLt FP8 with its own epilogue") : step.Gemm.CublasActivation < 0 ? "cuBLASLt path: product then the epilogue kernel"
                            : step.Gemm.CublasToIo ? "cuBLASLt path: its own epilogue where io is the GEMM's type, else product then the epilogue kernel" : "cuBLASLt path: its own epilogue"),
                        StepKind.Template => step.Template!.Pattern + " template, generated epilogue",
                        StepKind.Mlp => "mlp: the backend's fused MLP kernel where it has one for the shapes, else the two GEMMs",
                        StepKind.QkvAttention => QkvAttentionWhat(step),
                        _ => step.Kernel!.Strategy,
                    };
                    w.Line($"//   {name} ({what}, {ops.Count} ops{(step.Constant ? ", at load" : "")}){(node.Scope.Length > 0 ? " at " + node.Scope : "")}");
                    w.Line($"//       {string.Join(" → ", ops.Select(n => n.Source).Distinct())}");
                }
                foreach (var d in schedule.Decisions.Where(d => !d.Fused)) w.Line($"//   not fused at {Where(d)}: {string.Join(", ", d.Operators.Distinct())}: {d.Reason}");
            }
        }

        /// <summary>A QKV attention step's kernels: (the norm kernel +) the QKV projection + the attention (+ the output projection).</summary>
        public static string QkvAttentionName(Step step, Node attention) =>
            step.KernelName + " + " + attention.Kernel!.Name + (step.Second is null ? "" : " + " + step.Second.Name);

        private static string QkvAttentionWhat(Step step) =>
            "qkv attention" + (step.Norm is null ? "" : " with its norm prologue") + (step.Second is null ? "" : " and its output projection")
            + ": the window attention " + (step.Norm is null ? "computing q, k and v" : "gathering, normalizing and projecting its windows")
            + (step.Second is null ? "" : ", then multiplying its heads by the output projection,") + " itself where the backend can, else "
            + (step.Norm is null ? "" : "the norm kernel, ") + "the GEMM, then the attention" + (step.Second is null ? "" : ", then the projection's GEMM");

        private static string Where(FusionDecision d) => (d.Scope.Length > 0 ? d.Scope + ", " : "") + (d.Location?.Describe() ?? "");
    }
}
