using System.Collections.Generic;
using System.Linq;
using Fusion.Compiler;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Plans the precision of the fused graph, once per target (F32: the Float plan, F16: the mixed Half plan) and backend
    /// kind. In topological order each operator takes the target if its kernel supports it on that backend
    /// (<see cref="PrecisionSupport"/>) and it is not on the keep-list, else float32; a parameter takes its first
    /// reader's type; the inputs arrive, and the output leaves, in the run's input/output type (<see cref="FloatType.Io"/>).
    /// Wherever a reader needs another type than its operand has, a Cast node is inserted (one per value and type). A cast
    /// is a pointwise operator: the scheduler fuses it into the generated kernel of its producer or readers (a load converts,
    /// a store rounds), and one that converts a parameter is hoisted with the constants. Backends whose plans come out the
    /// same share one plan.
    /// </summary>
    internal static class PrecisionPass
    {
        private static readonly BackendKind[] s_backends = { BackendKind.Cpu, BackendKind.Cuda };

        public static ModelGraph Run(ModelGraph graph)
        {
            if (graph.HasErrors || graph.Output < 0 || graph.Nodes.Count == 0) return graph;
            var errors = new List<DiagnosticInfo>();
            var kept = KeepList.Match(graph, errors);
            if (errors.Count > 0) return graph with { Diagnostics = graph.Diagnostics.Concat(errors).ToEquatableArray() };

            var plans = new List<PrecisionPlan>();
            foreach (var target in new[] { FloatType.F32, FloatType.F16 })
            {
                var planned = s_backends.Select(b => (Backend: b, Plan: new Planner(graph, kept, target, b).Run())).ToList();
                foreach (var group in planned.GroupBy(p => p.Plan))
                    plans.Add(group.Key with { Backends = group.Select(p => p.Backend.ToString()).ToEquatableArray() });
            }
            return graph with { Plans = plans.ToEquatableArray() };
        }

        /// <summary>One plan: choose types, insert casts, renumber.</summary>
        private sealed class Planner
        {
            private readonly ModelGraph _graph;
            private readonly bool[] _kept;
            private readonly FloatType _target;
            private readonly BackendKind _backend;
            private readonly List<Node> _nodes = new();
            private readonly Dictionary<(int Source, FloatType To), int> _casts = new();
            private readonly Dictionary<int, (string Value, FloatType From, List<string> Readers)> _inserted = new();
            private int _output;

            public Planner(ModelGraph graph, bool[] kept, FloatType target, BackendKind backend)
            {
                _graph = graph;
                _kept = kept;
                _target = target;
                _backend = backend;
            }

            public PrecisionPlan Run()
            {
                var types = ChooseTypes();
                InsertCasts(types);
                return Finish();
            }

            private FloatType[] ChooseTypes()
            {
                var nodes = _graph.Nodes;
                var types = new FloatType[nodes.Count];
                foreach (var node in nodes)
                {
                    if (node.Is(Ops.Input)) types[node.Id] = FloatType.Io;
                    else if (!node.Is(Ops.Param)) types[node.Id] = Choose(node.Op, _kept[node.Id] ? FloatType.F32 : _target);
                }
                // A value computed from parameters alone (and each parameter) takes the type of its first reader, so a constant
                // an f32 operator reads is built in f32, not rounded through f16; other readers get a cast, hoisted with the constants.
                var constant = new bool[nodes.Count];
                foreach (var node in nodes)
                    constant[node.Id] = node.Is(Ops.Param) || (!node.Is(Ops.Input) && node.Inputs.All(i => constant[i]));
                var firstReader = new int[nodes.Count];
                for (int i = nodes.Count - 1; i >= 0; i--)
                {
                    foreach (var input in nodes[i].Inputs) firstReader[input] = i + 1; // the lowest reader id wins (+1: 0 means none)
                }
                for (int i = nodes.Count - 1; i >= 0; i--)
                {
                    if (constant[i] && firstReader[i] > 0) types[i] = types[firstReader[i] - 1];
                }
                return types;
            }

            private FloatType Choose(string op, FloatType wanted)
            {
                if (PrecisionSupport.Supports(op, _backend, wanted)) return wanted;
                var other = wanted == FloatType.F16 ? FloatType.F32 : FloatType.F16;
                return PrecisionSupport.Supports(op, _backend, other) ? other : wanted;
            }

            private void InsertCasts(FloatType[] types)
            {
                var ids = new int[_graph.Nodes.Count];
                foreach (var node in _graph.Nodes)
                {
                    var type = types[node.Id];
                    var inputs = node.Inputs.Select(i => types[i] == type ? ids[i] : CastOf(ids[i], type, node)).ToEquatableArray();
                    ids[node.Id] = Add(node with { Inputs = inputs, Precision = type });
                }
                _output = ids[_graph.Output];
                if (types[_graph.Output] != FloatType.Io) _output = CastOf(_output, FloatType.Io, null);
            }

            /// <summary>The cast of value <paramref name="source"/> (a new id) to <paramref name="to"/>, shared by every reader that needs it.</summary>
            private int CastOf(int source, FloatType to, Node? reader)
            {
                string readerText = reader?.Source ?? "the output";
                if (_casts.TryGetValue((source, to), out var id))
                {
                    _inserted[id].Readers.Add(readerText);
                    return id;
                }
                var value = _nodes[source];
                var near = reader ?? value;
                var cast = new Node(0, Ops.Cast.Name, EquatableArray.Of(source), AttributeSet.Of(OpAttribute.Int("to", (long)to)), "",
                    $"cast {value.Precision.Short()} → {to.Short()} of {Describe(value)}", near.Scope, near.Location)
                { Shape = value.Shape, Precision = to };
                id = Add(cast);
                _casts[(source, to)] = id;
                _inserted[id] = (Describe(value), value.Precision, new List<string> { readerText });
                return id;
            }

            private int Add(Node node)
            {
                int id = _nodes.Count;
                _nodes.Add(node with { Id = id });
                return id;
            }

            private static string Describe(Node value) =>
                value.Is(Ops.Input) ? "input " + value.Name : value.Is(Ops.Param) ? "param " + value.Name : value.Source;

            /// <summary>Hoisted when it converts a constant; otherwise the scheduler says where it ran.</summary>
            private string Fate(int cast) => IsConstant(cast) ? "hoisted: converted once per backend with the constants" : "";

            private bool IsConstant(int id)
            {
                var node = _nodes[id];
                if (node.Is(Ops.Param)) return true;
                return !node.Is(Ops.Input) && node.Inputs.All(IsConstant);
            }

            /// <summary>The plan: the nodes with their types and casts (already in topological order) and the cast notes.</summary>
            private PrecisionPlan Finish()
            {
                var notes = _casts.Values.OrderBy(c => c)
                    .Select(c => new CastNote(c, _inserted[c].Value, _inserted[c].From, _nodes[c].Precision, string.Join(", ", _inserted[c].Readers.Distinct()), Fate(c)))
                    .ToEquatableArray();
                return new PrecisionPlan(_target, EquatableArray<string>.Empty, _nodes.ToEquatableArray(), _output, notes);
            }
        }
    }
}
