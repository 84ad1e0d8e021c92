using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Emit
{
    /// <summary>
    /// Writes one precision plan of the compiled forward pass: the parameter-only values (constants) in a build
    /// method the model caches per backend and plan, and the plan's run method, one backend call per node with
    /// every intermediate disposed right after its last reader.
    /// </summary>
    internal sealed class PlanWriter
    {
        private const string Ns = "global::Fusion.";
        private readonly ModelGraph _graph;
        private readonly string _name;
        private readonly string _cacheKey;
        private readonly bool[] _constant;
        private readonly List<int> _hoisted;
        private readonly List<int>[] _readers;

        /// <param name="graph">The model with the plan's nodes and output.</param>
        /// <param name="name">The plan's name: the run method is Run{name}, the constant builder BuildFusionConstants{name}.</param>
        public PlanWriter(ModelGraph graph, PrecisionPlan plan, string name)
        {
            graph = graph with { Nodes = plan.Nodes, Output = plan.Output };
            _graph = graph;
            _name = name;
            _cacheKey = plan.Target.ToCSharp(); // plans of one target differ only per backend, which the cache also keys on
            var nodes = graph.Nodes;
            _readers = nodes.Select(_ => new List<int>()).ToArray();
            foreach (var node in nodes)
            {
                foreach (var input in node.Inputs.Distinct()) _readers[input].Add(node.Id);
            }
            _constant = new bool[nodes.Count];
            foreach (var node in nodes)
            {
                // A value computed from parameters alone: the same on every call.
                _constant[node.Id] = node.Op != OpKind.Input && node.Op != OpKind.Param
                    && node.Inputs.All(i => nodes[i].Op == OpKind.Param || _constant[i]);
            }
            _hoisted = nodes.Where(n => _constant[n.Id] && Readers(n.Id).Any(r => !_constant[r])).Select(n => n.Id).ToList();
        }

        public bool HasConstants => _hoisted.Count > 0;

        public string RunMethod => "Run" + _name;

        /// <summary>The method that builds the constants (hoisted out of Run).</summary>
        public void WriteConstantBuilder(IndentedWriter w)
        {
            if (!HasConstants) return;
            using (w.Block($"private {Ns}Tensor[] BuildFusionConstants{_name}({Ns}IBackend be, {Ns}DType plan)"))
            {
                var inBuilder = _graph.Nodes.Where(n => _constant[n.Id] || (n.Op == OpKind.Param && Readers(n.Id).Any(r => _constant[r]))).ToList();
                var keep = new HashSet<int>(_hoisted);
                WriteNodes(w, inBuilder, keep, inConstantBuilder: true);
                w.Line($"return new {Ns}Tensor[] {{ {string.Join(", ", _hoisted.Select(V))} }};");
            }
            w.Line();
        }

        /// <summary>The plan's run method: be, the batch, the input/output dtype io, then the (checked) inputs.</summary>
        public void WriteRunMethod(IndentedWriter w, string inputParameters)
        {
            using (w.Block($"private {Ns}Tensor {RunMethod}({Ns}IBackend be, int batch, {Ns}DType io{inputParameters})"))
            {
                WriteRunBody(w);
            }
        }

        private void WriteRunBody(IndentedWriter w)
        {
            if (HasConstants)
            {
                var sources = _graph.Nodes.Where(n => n.Op == OpKind.Param && Readers(n.Id).Any(r => _constant[r]))
                    .Select(n => "(long)" + AccessPath(n) + ".Version").ToList();
                var stamp = sources.Count == 0 ? "0L" : string.Join(" + ", sources);
                w.Line($"var constants = _fusionConstants.Get(be, {_cacheKey}, {stamp}, BuildFusionConstants{_name});");
                for (int i = 0; i < _hoisted.Count; i++)
                    w.Line($"var {V(_hoisted[i])} = constants[{i}]; // {_graph.Nodes[_hoisted[i]].ShapeText} constant: {Describe(_graph.Nodes[_hoisted[i]])}");
                w.Line();
            }
            var perCall = _graph.Nodes.Where(n => n.Op != OpKind.Input && !_constant[n.Id]
                && !(n.Op == OpKind.Param && Readers(n.Id).All(r => _constant[r]))).ToList();
            WriteNodes(w, perCall, new HashSet<int>(_hoisted), inConstantBuilder: false);
            w.Line($"return {V(_graph.Output)};");
        }

        private void WriteNodes(IndentedWriter w, List<Node> nodes, HashSet<int> owned, bool inConstantBuilder)
        {
            var set = new HashSet<int>(nodes.Select(n => n.Id));
            var lastUse = new Dictionary<int, int>();
            foreach (var node in nodes)
            {
                foreach (var input in node.Inputs) lastUse[input] = node.Id;
            }
            foreach (var node in nodes)
            {
                string where = node.Location is null ? "" : "  " + node.Location.Describe();
                string scope = node.Scope.Length > 0 ? node.Scope + ": " : "";
                w.Line($"// {node.ShapeText} {node.Precision.Short()}  {scope}{Describe(node)}{where}");
                var names = node.Inputs.Select(i => _graph.Nodes[i].Op == OpKind.Input ? _graph.Nodes[i].Name : V(i)).ToArray();
                w.Line($"var {V(node.Id)} = {OperatorCalls.For(node, names, _graph)};");

                // Free intermediates whose last reader this is; inputs, parameters and cached constants are not ours.
                foreach (var input in node.Inputs.Distinct())
                {
                    var source = _graph.Nodes[input];
                    bool ours = set.Contains(input) && source.Op is not (OpKind.Input or OpKind.Param) && input != _graph.Output
                        && !(inConstantBuilder ? owned.Contains(input) : _constant[input]);
                    if (ours && lastUse[input] == node.Id) w.Line($"{V(input)}.Dispose();");
                }
            }
        }

        private IReadOnlyList<int> Readers(int id) => _readers[id];

        private string AccessPath(Node param) => _graph.Parameter(param.Name).AccessPath;

        private static string Describe(Node node) => node.Op switch
        {
            OpKind.Param => "param " + node.Name,
            _ when node.Kernel is not null => $"fused {node.Kernel.Pattern} → {node.Kernel.Name} (from {node.Source})",
            _ => node.Source,
        };

        private static string V(int id) => "v" + id;
    }
}
