using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>The fusion report at the top of the generated file: each kernel and what it replaced, each candidate left alone and why.</summary>
    internal static class ReportWriter
    {
        public static void Write(IndentedWriter w, ModelGraph graph)
        {
            var fused = graph.Decisions.Where(d => d.Fused).ToList();
            var rejected = graph.Decisions.Where(d => !d.Fused).ToList();
            w.Line($"// Fusion report: {fused.Count} fused groups, {fused.Select(d => d.Kernel).Distinct().Count()} distinct kernels, {rejected.Count} candidates not fused.");
            foreach (var d in fused)
            {
                var where = (d.Scope.Length > 0 ? d.Scope + ", " : "") + (d.Location?.Describe() ?? "");
                w.Line($"//   {d.Kernel} ({d.Pattern}, {d.Operators.Count} ops) at {where}");
                w.Line($"//       {string.Join(" → ", d.Operators)}");
            }
            foreach (var d in rejected)
            {
                var where = (d.Scope.Length > 0 ? d.Scope + ", " : "") + (d.Location?.Describe() ?? "");
                w.Line($"//   not fused ({d.Pattern}) at {where}: {d.Operators.FirstOrDefault()}: {d.Reason}");
            }
        }
    }
}
