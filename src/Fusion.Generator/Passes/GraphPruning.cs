using Fusion.Compiler;
using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Drops nodes the output does not depend on and renumbers the rest densely, inputs before readers, in their original
    /// order where the graph allows it. The model's inputs always stay: they are its signature. Shared by dead-code
    /// elimination (after extraction) and the fusion rewriter (whose added nodes sit at the end of the list).
    /// </summary>
    internal static class GraphPruning
    {
        /// <summary>Which nodes the output depends on (ids index the list).</summary>
        public static bool[] Live(IReadOnlyList<Node> nodes, int output)
        {
            var live = new bool[nodes.Count];
            var stack = new Stack<int>();
            stack.Push(output);
            while (stack.Count > 0)
            {
                int id = stack.Pop();
                if (live[id]) continue;
                live[id] = true;
                foreach (var input in nodes[id].Inputs) stack.Push(input);
            }
            return live;
        }

        /// <summary>The live nodes and every input, renumbered; <paramref name="output"/> becomes the output's new id.</summary>
        public static List<Node> Compact(IReadOnlyList<Node> nodes, bool[] live, ref int output)
        {
            var renumber = new Dictionary<int, int>();
            var result = new List<Node>();
            void Visit(int id)
            {
                if (renumber.ContainsKey(id)) return;
                foreach (var input in nodes[id].Inputs) Visit(input);
                var node = nodes[id];
                renumber[id] = result.Count;
                result.Add(node with { Id = result.Count, Inputs = node.Inputs.Select(i => renumber[i]).ToEquatableArray() });
            }
            foreach (var node in nodes)
            {
                if (live[node.Id] || node.Is(Ops.Input)) Visit(node.Id);
            }
            output = renumber[output];
            return result;
        }
    }
}
