using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// The precision section of the report at the top of the generated file: per plan, the operators' float types as
    /// runs of consecutive operators (so a 200-operator model reads in a few lines; float32 runs inside a Half plan list
    /// each operator), then every cast the pass inserted and what became of it, and in the Int8 plan each int8 Linear with its
    /// scale's name and where its quantize and dequantize run.
    /// </summary>
    internal static class PrecisionReportWriter
    {
        /// <summary>Runs this short are listed operator by operator.</summary>
        private const int ListedRun = 4;

        public static void Write(IndentedWriter w, ModelGraph graph)
        {
            foreach (var plan in graph.Plans)
            {
                var ops = plan.Nodes.Where(n => !n.IsSource && !n.Is(Ops.Cast)).ToList();
                var counts = string.Join(", ", ops.GroupBy(n => n.Precision).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.Short()}"));
                int fused = plan.Casts.Count(c => c.Fate.StartsWith("fused", System.StringComparison.Ordinal));
                w.Line($"// Precision plan {plan.Name(false)} ({string.Join(", ", plan.Backends.Select(b => b.ToLowerInvariant()))}): operators {counts}; {plan.Casts.Count} casts inserted, {fused} fused into kernels.");
                foreach (var run in Runs(ops))
                {
                    string span = run.Count == 1 ? $"v{run[0].Id}" : $"v{run[0].Id}…v{run[run.Count - 1].Id}";
                    string where = Scopes(run);
                    w.Line($"//   {run[0].Precision.Short()} ×{run.Count} {span}{(where.Length > 0 ? "  " + where : "")}");
                    bool listed = run.Count <= ListedRun && (plan.Target != run[0].Precision || ops.Count <= ListedRun);
                    if (listed)
                    {
                        foreach (var n in run) w.Line($"//       v{n.Id} {n.Source}");
                    }
                }
                foreach (var cast in plan.Casts)
                    w.Line($"//   cast {cast.From.Short()} → {cast.To.Short()} of {cast.Value} for {cast.Reader}: {cast.Fate}");
                var (format, weightScale) = plan.Target == FloatType.F8 ? ("fp8", "per tensor") : ("int8", "per output channel");
                foreach (var q in plan.Quantized)
                    w.Line($"//   {format} {q.Linear}: scale {q.ScaleKey}, weight {q.Weight} {weightScale}; quantize {Where(plan, q.Quantize)}; dequantize {Where(plan, q.Result)}"
                        + (q.TanhGelu >= 0 ? $"; GELU in its tanh form, {Where(plan, q.TanhGelu)}" : ""));
            }
        }

        /// <summary>Where a node of a quantized plan runs: fused into which kernel (with what else), or alone.</summary>
        private static string Where(PrecisionPlan plan, int node)
        {
            var step = plan.Schedule?.Steps.FirstOrDefault(s => s.Members.Contains(node));
            if (step is null) return "not scheduled";
            string name = step.KernelName;
            return step.Members.Count > 1 ? "fused into " + name : "runs alone as " + name;
        }

        /// <summary>Consecutive operators of one float type.</summary>
        private static List<List<Node>> Runs(List<Node> ops)
        {
            var runs = new List<List<Node>>();
            foreach (var n in ops)
            {
                if (runs.Count == 0 || runs[runs.Count - 1][0].Precision != n.Precision) runs.Add(new List<Node>());
                runs[runs.Count - 1].Add(n);
            }
            return runs;
        }

        /// <summary>"patch_embed … layers.3.blocks.1.mlp": the first and last module scope of a run.</summary>
        private static string Scopes(List<Node> run)
        {
            var scopes = run.Select(n => n.Scope.Length > 0 ? n.Scope : "(root)").ToList();
            return scopes[0] == scopes[scopes.Count - 1] ? scopes[0] : scopes[0] + " … " + scopes[scopes.Count - 1];
        }
    }
}
