using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Diagnostics;
using Fusion.Generator.Frontend;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Removes operators whose results nobody reads (reporting each dropped call as FUS003) and
    /// renumbers the survivors densely, keeping topological order.
    /// </summary>
    internal static class DeadCodeElimination
    {
        public static IReadOnlyList<Node> Run(IReadOnlyList<Node> nodes, int output, ExtractionContext ctx, out int? newOutput)
        {
            var live = new bool[nodes.Count];
            live[output] = true;
            for (int i = nodes.Count - 1; i >= 0; i--)
            {
                if (!live[i]) continue;
                foreach (var input in nodes[i].Inputs) live[input] = true;
            }

            // Report only the last call of each dead chain: the one whose result nobody reads at all.
            var read = new bool[nodes.Count];
            foreach (var node in nodes)
            {
                foreach (var input in node.Inputs) read[input] = true;
            }
            foreach (var node in nodes)
            {
                if (!live[node.Id] && !read[node.Id] && node.Op is not (OpKind.Input or OpKind.Param))
                    ctx.Report(DiagnosticDescriptors.UnusedResult, node.Location, node.Source);
            }

            var renumber = new Dictionary<int, int>();
            var result = new List<Node>();
            foreach (var node in nodes)
            {
                // Inputs stay even when unused: they are the model's signature.
                if (!live[node.Id] && node.Op != OpKind.Input) continue;
                renumber[node.Id] = result.Count;
                result.Add(node with { Id = result.Count, Inputs = node.Inputs.Select(i => renumber[i]).ToEquatableArray() });
            }
            newOutput = renumber[output];
            return result;
        }
    }
}
