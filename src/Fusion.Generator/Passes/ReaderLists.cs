using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Who reads each value: for every node, the nodes that take it as an input (each once, however many of its inputs it fills), in
    /// the graph's order. The passes that follow a value to its reader (a chain into a GEMM's epilogue, a sum after a Linear, the gather
    /// of a convolution) ask this, and whether a value has one reader only.
    /// </summary>
    internal static class ReaderLists
    {
        public static List<List<int>> Of(IReadOnlyList<Node> nodes)
        {
            var readers = nodes.Select(_ => new List<int>()).ToList();
            foreach (var node in nodes) Add(readers, node);
            return readers;
        }

        /// <summary>Records <paramref name="node"/> as a reader of its inputs (a node a pass adds after building the lists).</summary>
        public static void Add(List<List<int>> readers, Node node)
        {
            foreach (var input in node.Inputs.Distinct()) readers[input].Add(node.Id);
        }
    }
}
