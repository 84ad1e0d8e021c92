using Fusion.Compiler;
using System;
using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Diagnostics;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Which nodes a model's keep-list ([FusedModel(KeepFloat32 = …)]) keeps in float32. An entry "F.Xxx" names an
    /// operator: the nodes of that operator kind, the fused nodes that replaced one (F.Softmax keeps the window attention
    /// that absorbed it), and the nodes lowered from a call written F.Xxx(…) (F.PatchConv). Any other entry is a module or
    /// layer path: the nodes whose scope is it or lies below it, and the operators that read its parameters ("head"
    /// matches a Linear field named head through head.weight). An entry that matches nothing is an error (FUS014).
    /// </summary>
    internal static class KeepList
    {
        public static bool[] Match(ModelGraph graph, List<DiagnosticInfo> errors)
        {
            var kept = new bool[graph.Nodes.Count];
            foreach (var entry in graph.KeepFloat32)
            {
                bool any = false;
                foreach (var node in graph.Nodes)
                {
                    if (node.IsSource || !Matches(entry.Text, node, graph)) continue;
                    kept[node.Id] = true;
                    any = true;
                }
                if (!any)
                {
                    string what = entry.Text.StartsWith("F.", StringComparison.Ordinal)
                        ? $"no operator {entry.Text} in the compiled graph"
                        : $"no module, layer or parameter path '{entry.Text}' in the compiled graph";
                    errors.Add(DiagnosticInfo.Create(DiagnosticDescriptors.KeepEntryUnmatched, entry.Location, entry.Text, graph.ClassName, what));
                }
            }
            return kept;
        }

        private static bool Matches(string entry, Node node, ModelGraph graph)
        {
            if (entry.Length == 0) return false;
            if (entry.StartsWith("F.", StringComparison.Ordinal))
            {
                string name = entry.Substring(2);
                return node.Op == name || node.FusedFrom.Contains(name) || node.Source.StartsWith(entry + "(", StringComparison.Ordinal);
            }
            return Under(node.Scope, entry)
                || node.Inputs.Any(i => graph.Nodes[i].Is(Ops.Param) && Under(graph.Nodes[i].Name, entry));
        }

        /// <summary><paramref name="path"/> is <paramref name="prefix"/> or lies below it ("blocks.1" is under "blocks", "blocks1" is not).</summary>
        private static bool Under(string path, string prefix) =>
            path == prefix || path.StartsWith(prefix + ".", StringComparison.Ordinal);
    }
}
