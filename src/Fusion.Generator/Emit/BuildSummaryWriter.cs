using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// The one-line summary at the top of the report, in a fixed form (<see cref="Prefix"/>) that the package's build
    /// targets (build/Fusion.targets) find in the emitted file and print in <c>dotnet build</c>'s output: Info
    /// diagnostics never reach the command line, and a generator cannot write files of its own.
    /// </summary>
    internal static class BuildSummaryWriter
    {
        public const string Prefix = "// Fusion summary: ";

        public static void Write(IndentedWriter w, ModelGraph graph)
        {
            int operators = graph.Nodes.Count(n => !n.IsSource);
            var plans = graph.Plans.Where(p => p.Schedule is not null).Select(p =>
            {
                var steps = p.Schedule!.Steps.Where(s => s.Kind is StepKind.Kernel or StepKind.Gemm or StepKind.Template or StepKind.Mlp or StepKind.QkvAttention).ToList();
                // An MLP is one kernel only where a backend fuses it; a QKV attention counts its GEMM, as the projection did alone (the
                // attention templates run as backend calls, not counted here), its norm prologue's kernel and its output projection's GEMM, as they ran alone.
                int kernels = steps.Sum(s => s.Kind == StepKind.Mlp ? 2 : 1 + (s.Norm is null ? 0 : 1) + (s.Kind == StepKind.QkvAttention && s.Second is not null ? 1 : 0));
                // The model's operators that share a kernel with another: casts the precision pass added and views
                // repeated in several kernels count once, or not at all.
                int fused = steps.Select(s => s.Members.Where(m => !p.Nodes[m].IsSource && !p.Nodes[m].Is(Ops.Cast)).Distinct().ToList())
                    .Where(members => members.Count > 1).SelectMany(members => members).Distinct().Count();
                string name = p.Name(graph.Plans.Count(q => q.Target == p.Target) > 1);
                return $"{name} plan {Count(kernels, "kernel")} ({fused} ops fused)";
            }).ToList();
            var refused = graph.Decisions.Where(d => !d.Fused)
                .Concat(graph.Plans.Where(p => p.Schedule is not null).SelectMany(p => p.Schedule!.Decisions.Where(d => !d.Fused))).ToList();
            int reasons = refused.Select(d => d.Reason).Distinct().Count();
            w.Line($"{Prefix}{graph.ClassName}: {operators} operators; {string.Join(", ", plans)}; " +
                $"{refused.Count} not fused ({Count(reasons, "reason")}).");
        }

        private static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";
    }
}
