using System.Collections.Generic;
using Fusion.Compiler;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Which values are computed from parameters and constants alone (a weight re-laid out, a batch norm's scale): they are known
    /// when the model loads. One pass over the graph's topological order.
    /// </summary>
    internal static class ParameterOnly
    {
        public static bool[] Of(IReadOnlyList<Node> nodes)
        {
            var result = new bool[nodes.Count];
            foreach (var n in nodes)
            {
                bool inputs = n.Inputs.Count > 0;
                foreach (var i in n.Inputs) inputs &= result[i];
                result[n.Id] = n.Is(Ops.Param) || n.Is(Ops.Const) || (!n.IsSource && inputs);
            }
            return result;
        }
    }
}
