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
    /// same share one plan. The Int8 plan (target I8) is the Half plan with each Linear <see cref="Int8Linears"/> picks run as an
    /// int8 GEMM: its input scaled by 1/sₓ and cast to i8 (a quantize, which the scheduler fuses into the producer's store), its
    /// weight quantized per output channel at load (max |w| of the row / 127: constants, hoisted), the exact int32 product, then
    /// · sₓ·s_w[j] and the bias in the GEMM's generated epilogue. sₓ is a Scale node: the session's scale file's threshold / 127.
    /// </summary>
    internal static class PrecisionPass
    {
        private static readonly BackendKind[] s_backends = { BackendKind.Cpu, BackendKind.Cuda };

        public static ModelGraph Run(ModelGraph graph)
        {
            if (graph.HasErrors || graph.Output < 0 || graph.Nodes.Count == 0) return graph;
            var errors = new List<DiagnosticInfo>();
            var kept = KeepList.Match(graph, errors);
            var int8Keys = Int8Linears.Find(graph, kept, errors);
            if (errors.Count > 0) return graph with { Diagnostics = graph.Diagnostics.Concat(errors).ToEquatableArray() };

            var plans = new List<PrecisionPlan>();
            foreach (var target in new[] { FloatType.F32, FloatType.F16, FloatType.I8 })
            {
                var planned = s_backends.Select(b => (Backend: b, Plan: new Planner(graph, kept, target == FloatType.I8 ? int8Keys : new string?[graph.Nodes.Count], target, b).Run())).ToList();
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
            private readonly string?[] _int8Keys;
            private readonly List<Int8Note> _int8 = new();
            private int _output;

            /// <param name="int8Keys">For each node, the scale key of a Linear this plan runs as an int8 GEMM, or null.</param>
            public Planner(ModelGraph graph, bool[] kept, string?[] int8Keys, FloatType target, BackendKind backend)
            {
                _graph = graph;
                _kept = kept;
                _target = target;
                _backend = backend;
                _int8Keys = int8Keys;
            }

            /// <summary>The float type the plan's operators want: the Int8 plan is the Half plan around its int8 GEMMs.</summary>
            private FloatType Wanted => _target == FloatType.I8 ? FloatType.F16 : _target;

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
                    else if (!node.Is(Ops.Param)) types[node.Id] = Choose(node.Op, _kept[node.Id] ? FloatType.F32 : Wanted);
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
                // A quantized Linear's weight and bias are read in float32: the weight is quantized from its float32 values.
                for (int i = nodes.Count - 1; i >= 0; i--)
                {
                    if (constant[i] && firstReader[i] > 0)
                        types[i] = _int8Keys[firstReader[i] - 1] is null ? types[firstReader[i] - 1] : FloatType.F32;
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
                    if (_int8Keys[node.Id] is { } key)
                    {
                        ids[node.Id] = QuantizedLinear(node, key, type, ids);
                        continue;
                    }
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

            /// <summary>
            /// The int8 form of Linear <paramref name="linear"/> (see the class summary); returns the id of its result, of type
            /// <paramref name="type"/> as the Linear's would have been.
            /// </summary>
            private int QuantizedLinear(Node linear, string key, FloatType type, int[] ids)
            {
                int x = ids[linear.Inputs[0]], w = ids[linear.Inputs[1]];
                var xShape = _nodes[x].Shape;
                var wShape = _nodes[w].Shape;
                var n = wShape[0];
                var column = EquatableArray.Of(n, Dim.One);
                int New(OpDescriptor op, string what, EquatableArray<Dim> shape, FloatType precision, AttributeSet attributes, params int[] inputs) =>
                    Add(new Node(0, op.Name, inputs.ToEquatableArray(), attributes, "", what, linear.Scope, linear.Location) { Shape = shape, Precision = precision });
                int Op(OpDescriptor op, string what, EquatableArray<Dim> shape, FloatType precision, params int[] inputs) =>
                    New(op, what, shape, precision, AttributeSet.Empty, inputs);
                var none = AttributeSet.Empty;
                var scalar = EquatableArray.Of(Dim.One);

                int scale = Add(new Node(0, Ops.Scale.Name, EquatableArray<int>.Empty, AttributeSet.Of(OpAttribute.IntList("shape", new long[] { 1 })), key,
                    $"scale of {key}", linear.Scope, linear.Location) { Shape = scalar, Precision = FloatType.F32 });
                int one = New(Ops.Const, "1", EquatableArray<Dim>.Empty, FloatType.F32, AttributeSet.Of(OpAttribute.Real("value", 1.0)));
                int inverse = Op(Ops.Div, $"1 / scale of {key}", scalar, FloatType.F32, one, scale);
                int scaled = Op(Ops.Mul, $"{key} / its scale", xShape, FloatType.F32, x, inverse);
                int quantized = New(Ops.Cast, $"quantize {key} to i8", xShape, FloatType.I8, AttributeSet.Of(OpAttribute.Int("to", (long)FloatType.I8)), scaled);

                string weight = Int8Linears.LayerWeight(_graph, linear.Inputs[1]) ?? "the weight of " + linear.Source;
                int magnitude = Op(Ops.Abs, $"|{weight}|", wShape, FloatType.F32, w);
                int rowMax = New(Ops.Max, $"max |{weight}| per output channel", column, FloatType.F32,
                    AttributeSet.Of(OpAttribute.IntList("axes", new long[] { 1 }), OpAttribute.Int("keepDim", 1)), magnitude);
                int rowScale = Op(Ops.Int8Scale, $"int8 scales of {weight}", column, FloatType.F32, rowMax);
                int rowInverse = Op(Ops.Div, $"1 / int8 scales of {weight}", column, FloatType.F32, one, rowScale);
                int weightScaled = Op(Ops.Mul, $"{weight} / its scales", wShape, FloatType.F32, w, rowInverse);
                int weightCodes = New(Ops.Cast, $"quantize {weight} to i8", wShape, FloatType.I8, AttributeSet.Of(OpAttribute.Int("to", (long)FloatType.I8)), weightScaled);

                int product = New(Ops.Linear, $"int8 {linear.Source}", linear.Shape, FloatType.F32, none, quantized, weightCodes);
                int channelScale = New(Ops.Reshape, $"int8 scales of {weight} as a vector", EquatableArray.Of(n), FloatType.F32,
                    AttributeSet.Of(OpAttribute.IntList("shape", new[] { n.Value })), rowScale);
                int dequantize = Op(Ops.Mul, $"scale of {key} · int8 scales of {weight}", EquatableArray.Of(n), FloatType.F32, scale, channelScale);
                bool bias = linear.Inputs.Count > 2;
                int result = Op(Ops.Mul, $"dequantize {linear.Source}", linear.Shape, bias ? FloatType.F32 : type, product, dequantize);
                if (bias) result = Op(Ops.Add, $"{linear.Source} + bias", linear.Shape, type, result, ids[linear.Inputs[2]]);
                _int8.Add(new Int8Note(linear.Source, key, weight, quantized, product, result));
                return result;
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
                return new PrecisionPlan(_target, EquatableArray<string>.Empty, _nodes.ToEquatableArray(), _output, notes) { Int8 = _int8.ToEquatableArray() };
            }
        }
    }
}
