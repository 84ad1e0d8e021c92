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
    /// matches a Linear field named head through head.weight); a "*" segment matches any one segment. An entry that matches
    /// nothing is an error (FUS014; FUS017 for the Int8 plan's list, KeepHalfInInt8, which matches only the Linears it would quantize).
    /// </summary>
    internal static class KeepList
    {
        public static bool[] Match(ModelGraph graph, List<DiagnosticInfo> errors) =>
            Match(graph, graph.KeepFloat32, _ => true, DiagnosticDescriptors.KeepEntryUnmatched, errors);

        /// <summary>
        /// The nodes <paramref name="entries"/> match among those <paramref name="eligible"/> allows; an entry that matches none is
        /// <paramref name="unmatched"/>.
        /// </summary>
        public static bool[] Match(ModelGraph graph, IEnumerable<KeepEntry> entries, Func<Node, bool> eligible, Microsoft.CodeAnalysis.DiagnosticDescriptor unmatched,
            List<DiagnosticInfo> errors)
        {
            var kept = new bool[graph.Nodes.Count];
            foreach (var entry in entries)
            {
                bool any = false;
                foreach (var node in graph.Nodes)
                {
                    if (node.IsSource || !eligible(node) || !Matches(entry.Text, node, graph)) continue;
                    kept[node.Id] = true;
                    any = true;
                }
                if (!any)
                {
                    string what = entry.Text.StartsWith("F.", StringComparison.Ordinal)
                        ? $"no operator {entry.Text} in the compiled graph"
                        : $"no module, layer or parameter path '{entry.Text}' in the compiled graph";
                    errors.Add(DiagnosticInfo.Create(unmatched, entry.Location, entry.Text, graph.ClassName, what));
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
            return LayerPath.Under(node.Scope, entry)
                || node.Inputs.Any(i => graph.Nodes[i].Is(Ops.Param) && LayerPath.Under(graph.Nodes[i].Name, entry));
        }
    }
}
