using Fusion.Compiler;
using System.Collections.Generic;
using Fusion.Generator.Diagnostics;
using Fusion.Generator.Frontend;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Removes operators whose results nobody reads (reporting each dropped call as FUS003) and
    /// renumbers the survivors densely, keeping topological order (<see cref="GraphPruning"/>).
    /// </summary>
    internal static class DeadCodeElimination
    {
        public static IReadOnlyList<Node> Run(IReadOnlyList<Node> nodes, int output, ExtractionContext ctx, out int? newOutput)
        {
            var live = GraphPruning.Live(nodes, output);

            // Report only the last call of each dead chain: the one whose result nobody reads at all.
            var read = new bool[nodes.Count];
            foreach (var node in nodes)
            {
                foreach (var input in node.Inputs) read[input] = true;
            }
            foreach (var node in nodes)
            {
                if (!live[node.Id] && !read[node.Id] && !node.Is(Ops.Input) && !node.Is(Ops.Param))
                    ctx.Report(DiagnosticDescriptors.UnusedResult, node.Location, node.Source);
            }

            var result = GraphPruning.Compact(nodes, live, ref output);
            newOutput = output;
            return result;
        }
    }
}
