using System.Collections.Generic;
using System.Linq;
using Fusion.Generator.Ir;
using Fusion.Generator.Model;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Plans the precision of the fused graph, once per target (F32: the Float plan, F16: the mixed Half plan) and backend
    /// kind. In topological order each operator takes the target if its kernel supports it on that backend
    /// (<see cref="PrecisionSupport"/>) and it is not on the keep-list, else float32; a parameter takes its first
    /// reader's type; the inputs arrive, and the output leaves, in the run's input/output type (<see cref="FloatType.Io"/>).
    /// Wherever a reader needs another type than its operand has, a <see cref="OpKind.Cast"/> node is inserted (one per
    /// value and type). Then casts are folded into neighbours that read either float type and write a chosen one
    /// (Patchify, Mean, LayerNorm): into the producer when the cast is all that reads it, else into the readers that
    /// take it as their x. What is left runs alone, or is hoisted with the constants when it converts a parameter.
    /// Backends whose plans come out the same share one plan.
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

        /// <summary>Operators that read x in either float type and write a chosen one, so a cast folds into them.</summary>
        public static bool TakesCasts(OpKind op) => op is OpKind.Patchify or OpKind.Mean or OpKind.LayerNorm;

        /// <summary>One plan: choose types, insert casts, fold them, renumber.</summary>
        private sealed class Planner
        {
            private readonly ModelGraph _graph;
            private readonly bool[] _kept;
            private readonly FloatType _target;
            private readonly BackendKind _backend;
            private readonly List<Node> _nodes = new();
            private readonly Dictionary<(int Source, FloatType To), int> _casts = new();
            private readonly Dictionary<int, string> _fates = new();
            private readonly HashSet<int> _dead = new();
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
                FoldIntoProducers();
                FoldIntoReaders();
                return Finish();
            }

            private FloatType[] ChooseTypes()
            {
                var nodes = _graph.Nodes;
                var types = new FloatType[nodes.Count];
                foreach (var node in nodes)
                {
                    if (node.Op == OpKind.Input) types[node.Id] = FloatType.Io;
                    else if (node.Op != OpKind.Param) types[node.Id] = Choose(node.Op, _kept[node.Id] ? FloatType.F32 : _target);
                }
                // A value computed from parameters alone (and each parameter) takes the type of its first reader, so a constant
                // an f32 operator reads is built in f32, not rounded through f16; other readers get a cast, hoisted with the constants.
                var constant = new bool[nodes.Count];
                foreach (var node in nodes)
                    constant[node.Id] = node.Op == OpKind.Param || (node.Op != OpKind.Input && node.Inputs.All(i => constant[i]));
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

            private FloatType Choose(OpKind op, FloatType wanted)
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
                var cast = new Node(0, OpKind.Cast, EquatableArray.Of(source), EquatableArray.Of((int)to), 0f, "",
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

            /// <summary>A producer whose only reader is a cast writes the cast's type itself.</summary>
            private void FoldIntoProducers()
            {
                foreach (var cast in _casts.Values)
                {
                    var producer = _nodes[_nodes[cast].Inputs[0]];
                    if (!TakesCasts(producer.Op) || producer.Id == _output) continue;
                    var readers = Readers(producer.Id);
                    if (readers.Count != 1 || readers[0] != cast) continue;
                    _nodes[producer.Id] = producer with { Precision = _nodes[cast].Precision };
                    foreach (var r in Readers(cast)) Rewire(r, cast, producer.Id);
                    if (_output == cast) _output = producer.Id;
                    _dead.Add(cast);
                    _fates[cast] = $"fused into {producer.Op} ({producer.Source}), which writes {_nodes[cast].Precision.Short()}";
                }
            }

            /// <summary>Readers that take the cast as their x read the uncast value instead; a cast nobody reads any more is gone.</summary>
            private void FoldIntoReaders()
            {
                foreach (var cast in _casts.Values)
                {
                    if (_dead.Contains(cast)) continue;
                    var source = _nodes[cast].Inputs[0];
                    var folded = new List<string>();
                    foreach (var r in Readers(cast))
                    {
                        var reader = _nodes[r];
                        if (!TakesCasts(reader.Op) || reader.Inputs.Skip(1).Contains(cast)) continue;
                        Rewire(r, cast, source);
                        folded.Add($"{reader.Op} ({reader.Source})");
                    }
                    string into = folded.Count == 0 ? "" : $"fused into {string.Join(", ", folded.Distinct())}, which reads {_nodes[source].Precision.Short()}";
                    if (Readers(cast).Count == 0 && cast != _output)
                    {
                        _dead.Add(cast);
                        _fates[cast] = into;
                    }
                    else
                    {
                        _fates[cast] = Alone(cast) + (into.Length > 0 ? "; " + into : "");
                    }
                }
            }

            private string Alone(int cast)
            {
                var from = _nodes[_nodes[cast].Inputs[0]].Precision;
                var to = _nodes[cast].Precision;
                if (IsConstant(cast)) return "hoisted: converted once per backend with the constants";
                if (from == FloatType.Io || to == FloatType.Io)
                    return $"runs alone (a view, no copy, when the input/output type is {(from == FloatType.Io ? to : from).Short()})";
                return "runs alone (be.Cast)";
            }

            private bool IsConstant(int id)
            {
                var node = _nodes[id];
                if (node.Op == OpKind.Param) return true;
                return node.Op != OpKind.Input && node.Inputs.All(IsConstant);
            }

            private List<int> Readers(int id) =>
                _nodes.Where(n => !_dead.Contains(n.Id) && n.Inputs.Contains(id)).Select(n => n.Id).ToList();

            private void Rewire(int reader, int from, int to) =>
                _nodes[reader] = _nodes[reader] with { Inputs = _nodes[reader].Inputs.Select(i => i == from ? to : i).ToEquatableArray() };

            /// <summary>Drops folded casts and renumbers; the order (inputs before readers) is kept.</summary>
            private PrecisionPlan Finish()
            {
                var ids = new Dictionary<int, int>();
                var result = new List<Node>();
                foreach (var node in _nodes)
                {
                    if (_dead.Contains(node.Id)) continue;
                    ids[node.Id] = result.Count;
                    result.Add(node with { Id = result.Count, Inputs = node.Inputs.Select(i => ids[i]).ToEquatableArray() });
                }
                var notes = _casts.Values.OrderBy(c => c)
                    .Select(c => new CastNote(_inserted[c].Value, _inserted[c].From, _nodes[c].Precision, string.Join(", ", _inserted[c].Readers.Distinct()), _fates[c]))
                    .ToEquatableArray();
                return new PrecisionPlan(_target, EquatableArray<string>.Empty, result.ToEquatableArray(), ids[_output], notes);
            }

            private static string Describe(Node value) => value.Op switch
            {
                OpKind.Input => "input " + value.Name,
                OpKind.Param => "param " + value.Name,
                _ => value.Source,
            };
        }
    }
}
