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
    /// · sₓ·s_w[j] and the bias in the GEMM's generated epilogue, and a GELU after it in its tanh form (<see cref="Planner"/>'s
    /// GeluForm). sₓ is a Scale node: the session's scale file's threshold / 127.
    /// A quantized one-group convolution quantizes its image, and its windows read the codes (<see cref="QuantizedWindows"/>).
    /// The Fp8 plan (target F8) is the same with FP8 E4M3 codes and per-tensor scales (threshold / 448, max |w| / 448), the scales
    /// cuBLASLt's FP8 product takes; it quantizes the Linears whose K is a multiple of 16 and N of 8 (cuBLASLt's FP8 condition).
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
            var fp8Keys = Int8Linears.Fp8(graph, int8Keys);

            var plans = new List<PrecisionPlan>();
            foreach (var target in new[] { FloatType.F32, FloatType.F16, FloatType.I8, FloatType.F8 })
            {
                var keys = target switch { FloatType.I8 => int8Keys, FloatType.F8 => fp8Keys, _ => new string?[graph.Nodes.Count] };
                // A quantized plan that quantizes nothing would be the Half plan again: the model dispatches it to the Half plan.
                if (target.IsCode() && keys.All(k => k is null)) continue;
                var planned = s_backends.Select(b => (Backend: b, Plan: new Planner(graph, kept, keys, target, b).Run())).ToList();
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
            /// <summary>A quantized convolution's windows, and the permute under them: rebuilt over its quantized image by QuantizedLinear.</summary>
            private readonly bool[] _rebuilt;
            private readonly List<QuantizedNote> _quantized = new();
            /// <summary>
            /// Values already quantized, by id: the scale key used, its scale node and the codes. Layers reading one value (ResNet's first
            /// conv of a stage and its downsample) share one quantize: calibration observes the same tensor for both keys, so their
            /// thresholds are equal, and one kernel (fused into the producer) writes the codes both GEMMs read.
            /// </summary>
            private readonly Dictionary<int, (string Key, int Scale, int Codes)> _quantizedValues = new();
            private int _output;

            /// <param name="int8Keys">For each node, the scale key of a Linear this plan runs as an int8 (Fp8 plan: FP8) GEMM, or null.</param>
            public Planner(ModelGraph graph, bool[] kept, string?[] int8Keys, FloatType target, BackendKind backend)
            {
                _graph = graph;
                _kept = kept;
                _target = target;
                _backend = backend;
                _int8Keys = int8Keys;
                _rebuilt = QuantizedWindows.Find(graph, int8Keys);
            }

            /// <summary>The float type the plan's operators want: the Int8 and Fp8 plans are the Half plan around their quantized GEMMs.</summary>
            private FloatType Wanted => _target.IsCode() ? FloatType.F16 : _target;

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
                var readers = _graph.PoolInGemmEpilogue ? ReaderLists.Of(_graph.Nodes) : null;
                foreach (var node in nodes)
                {
                    if (node.Is(Ops.Input)) types[node.Id] = FloatType.Io;
                    else if (!node.Is(Ops.Param)) types[node.Id] = Choose(node.Op, _kept[node.Id] || PooledFromGemm(node, readers) ? FloatType.F32 : Wanted);
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
                // A quantized Linear's weight is read in float32 (it is quantized from its float32 values), and so is its bias in the
                // Int8 plan; the Fp8 plan's bias is f16, the type cuBLASLt's FP8 epilogue takes with an f16 or E4M3 result.
                for (int i = nodes.Count - 1; i >= 0; i--)
                {
                    if (!constant[i] || firstReader[i] == 0) continue;
                    var reader = nodes[firstReader[i] - 1];
                    bool bias = reader.Inputs.Count > 2 && reader.Inputs[2] == i && reader.Inputs[1] != i;
                    types[i] = _int8Keys[reader.Id] is null ? types[reader.Id] : bias && _target == FloatType.F8 ? FloatType.F16 : FloatType.F32;
                }
                return types;
            }

            /// <summary>
            /// In a model that lets GEMM epilogues pool ([FusedModel(PoolInGemmEpilogue = true)]), a Sum or Mean of a Linear's result
            /// (through pointwise operators and permutes, each read only by the next: a global average pool at a network's end) is
            /// float32 in every plan: the GEMM's epilogue can then accumulate it, the adds landing in
            /// a float32 buffer, in place of a pooling kernel that reads the whole result back (the scheduler's pooled epilogue). Its
            /// readers convert it where they read it. Other sums (a depthwise convolution's, a window's mean) keep the plan's type.
            /// </summary>
            /// <param name="readers">Who reads each node (<see cref="ReaderLists"/>); null when the model does not let GEMM epilogues pool.</param>
            private bool PooledFromGemm(Node node, List<List<int>>? readers)
            {
                if (readers is null || !FusionRules.PooledInGemmEpilogue(node.Descriptor)) return false;
                var nodes = _graph.Nodes;
                bool Reaches(int id, int depth)
                {
                    var n = nodes[id];
                    if (readers[id].Count != 1 || id == _graph.Output || depth > 32) return false;
                    if (n.Is(Ops.Linear)) return true;
                    if (!(n.Is(Ops.Permute) || n.Descriptor.Class == OpClass.Pointwise)) return false;
                    return n.Inputs.Any(i => nodes[i].Shape.Count == n.Shape.Count && Reaches(i, depth + 1));
                }
                return Reaches(node.Inputs[0], 0);
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
                // fp16 convolutions over a channel count the implicit GEMM cannot read get their image and weight padded (ConvChannelPadding).
                var padded = ConvChannelPadding.Find(_graph, types, _int8Keys);
                foreach (var node in _graph.Nodes)
                {
                    if (_rebuilt[node.Id]) continue;
                    var type = types[node.Id];
                    if (_int8Keys[node.Id] is { } key)
                    {
                        ids[node.Id] = QuantizedLinear(node, key, type, ids);
                        continue;
                    }
                    var inputs = node.Inputs.Select(i => types[i] == type ? ids[i] : CastOf(ids[i], type, node)).ToArray();
                    if (padded[node.Id])
                    {
                        ids[node.Id] = ConvChannelPadding.Windows(node, inputs[0], _nodes, Add);
                        continue;
                    }
                    if (node.Is(Ops.Linear) && padded[node.Inputs[0]])
                        inputs[1] = ConvChannelPadding.Weight(node, inputs[1], _graph.Nodes[_graph.Nodes[node.Inputs[0]].Inputs[0]].Shape[1].Value, _nodes, Add);
                    var op = GeluForm(node);
                    ids[node.Id] = Add(node with { Op = op, Inputs = inputs.ToEquatableArray(), Precision = type });
                    if (op != node.Op) NoteTanhGelu(ids[node.Inputs[0]], ids[node.Id]);
                }
                _output = ids[_graph.Output];
                if (types[_graph.Output] != FloatType.Io) _output = CastOf(_output, FloatType.Io, null);
            }

            /// <summary>
            /// A quantized GEMM's GELU (the Gelu reading an int8 or FP8 Linear's result: its epilogue) in its tanh form. The form is
            /// cuBLASLt's (its GELU epilogue, which the Fp8 plan's products and the Half plan's cuBLASLt GEMMs run), within 4.8e-4 of
            /// erf's, a hundredth of an 8-bit code's step, and as accurate against timm (docs/precision.md); printed as x·σ(2u) it
            /// takes half the erf form's instructions in the int8 template's requantizing epilogue, which the instructions it issues
            /// bind (docs/perf.md). The CPU twin computes the same form, so the two backends still agree to float32.
            /// </summary>
            private string GeluForm(Node node) =>
                _target.IsCode() && node.Is(Ops.Gelu) && _int8Keys[node.Inputs[0]] is not null ? Ops.GeluTanh.Name : node.Op;

            /// <summary>Records on the quantized Linear whose result <paramref name="result"/> is that its GELU is <paramref name="gelu"/>, in the tanh form.</summary>
            private void NoteTanhGelu(int result, int gelu)
            {
                int at = _quantized.FindIndex(q => q.Result == result);
                if (at >= 0) _quantized[at] = _quantized[at] with { TanhGelu = gelu };
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
            /// The quantized form of Linear <paramref name="linear"/> (int8 codes in the Int8 plan, FP8 E4M3 in the Fp8 plan; see the class
            /// summary); returns the id of its result, of type <paramref name="type"/> as the Linear's would have been.
            /// </summary>
            private int QuantizedLinear(Node linear, string key, FloatType type, int[] ids)
            {
                // A convolution's windows are quantized as their image (QuantizedWindows): x is then that value, the views re-applied after.
                var windows = _graph.Nodes[linear.Inputs[0]];
                Node? permute = null;
                bool image = _rebuilt[windows.Id];
                int x = image ? ids[QuantizedWindows.Source(_graph, windows, out permute)] : ids[linear.Inputs[0]], w = ids[linear.Inputs[1]];
                var xShape = _nodes[x].Shape;
                var wShape = _nodes[w].Shape;
                var n = wShape[0];
                bool fp8 = _target == FloatType.F8;
                // "int8 scales of W" per output channel, "fp8 scale of W" per tensor.
                string code = _target.Short(), format = fp8 ? "fp8" : "int8", scales = fp8 ? "scale" : "scales";
                int New(OpDescriptor op, string what, EquatableArray<Dim> shape, FloatType precision, AttributeSet attributes, params int[] inputs) =>
                    Add(new Node(0, op.Name, inputs.ToEquatableArray(), attributes, "", what, linear.Scope, linear.Location) { Shape = shape, Precision = precision });
                int Op(OpDescriptor op, string what, EquatableArray<Dim> shape, FloatType precision, params int[] inputs) =>
                    New(op, what, shape, precision, AttributeSet.Empty, inputs);
                int Const(double value) => New(Ops.Const, value.ToString("R", System.Globalization.CultureInfo.InvariantCulture), EquatableArray<Dim>.Empty, FloatType.F32,
                    AttributeSet.Of(OpAttribute.Real("value", value)));
                int Quantize(int value, string what, EquatableArray<Dim> shape) =>
                    New(Ops.Cast, $"quantize {what} to {code}", shape, _target, AttributeSet.Of(OpAttribute.Int("to", (long)_target)), value);
                var none = AttributeSet.Empty;
                var scalar = EquatableArray.Of(Dim.One);

                // The scale file's scales are threshold / 127; the Fp8 plan's are threshold / 448.
                int scale, quantized, one;
                if (_quantizedValues.TryGetValue(x, out var shared))
                {
                    (key, scale, quantized) = shared;
                    one = Const(1);
                }
                else
                {
                    scale = Add(new Node(0, Ops.Scale.Name, EquatableArray<int>.Empty, AttributeSet.Of(OpAttribute.IntList("shape", new long[] { 1 })), key,
                        $"scale of {key}", linear.Scope, linear.Location) { Shape = scalar, Precision = FloatType.F32 });
                    if (fp8) scale = Op(Ops.Mul, $"fp8 scale of {key}", scalar, FloatType.F32, scale, Const(127.0 / 448.0));
                    one = Const(1);
                    int inverse = Op(Ops.Div, $"1 / scale of {key}", scalar, FloatType.F32, one, scale);
                    int scaled = Op(Ops.Mul, $"{key} / its scale", xShape, FloatType.F32, x, inverse);
                    quantized = Quantize(scaled, key, xShape);
                    _quantizedValues[x] = (key, scale, quantized);
                }
                int codes = quantized;
                if (permute is not null) codes = New(Ops.Permute, permute.Source, permute.Shape, _target, permute.Attributes, codes);
                if (image) codes = New(Ops.Im2col, windows.Source, windows.Shape, _target, windows.Attributes, codes);

                // Weights: one scale per output channel (int8), or one for the tensor (FP8: cuBLASLt's per-tensor scale).
                string weight = Int8Linears.LayerWeight(_graph, linear.Inputs[1]) ?? "the weight of " + linear.Source;
                var reduced = fp8 ? EquatableArray.Of(Dim.One, Dim.One) : EquatableArray.Of(n, Dim.One);
                int magnitude = Op(Ops.Abs, $"|{weight}|", wShape, FloatType.F32, w);
                int rowMax = New(Ops.Max, fp8 ? $"max |{weight}|" : $"max |{weight}| per output channel", reduced, FloatType.F32,
                    AttributeSet.Of(OpAttribute.IntList("axes", fp8 ? new long[] { 0, 1 } : new long[] { 1 }), OpAttribute.Int("keepDim", 1)), magnitude);
                int rowScale = Op(fp8 ? Ops.Fp8Scale : Ops.Int8Scale, $"{format} {scales} of {weight}", reduced, FloatType.F32, rowMax);
                int rowInverse = Op(Ops.Div, $"1 / {format} {scales} of {weight}", reduced, FloatType.F32, one, rowScale);
                int weightScaled = Op(Ops.Mul, $"{weight} / its {scales}", wShape, FloatType.F32, w, rowInverse);
                int weightCodes = Quantize(weightScaled, weight, wShape);

                int product = New(Ops.Linear, $"{format} {linear.Source}", linear.Shape, FloatType.F32, none, codes, weightCodes);
                var factors = fp8 ? scalar : EquatableArray.Of(n);
                int weightFactor = New(Ops.Reshape, $"{format} {scales} of {weight} as a vector", factors, FloatType.F32,
                    AttributeSet.Of(OpAttribute.IntList("shape", new[] { fp8 ? 1 : n.Value })), rowScale);
                int dequantize = Op(Ops.Mul, $"scale of {key} · {format} {scales} of {weight}", factors, FloatType.F32, scale, weightFactor);
                bool bias = linear.Inputs.Count > 2;
                int result = Op(Ops.Mul, $"dequantize {linear.Source}", linear.Shape, bias ? FloatType.F32 : type, product, dequantize);
                if (bias) result = Op(Ops.Add, $"{linear.Source} + bias", linear.Shape, type, result, ids[linear.Inputs[2]]);
                _quantized.Add(new QuantizedNote(linear.Source, key, weight, quantized, product, result));
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
                return new PrecisionPlan(_target, EquatableArray<string>.Empty, _nodes.ToEquatableArray(), _output, notes) { Quantized = _quantized.ToEquatableArray() };
            }
        }
    }
}
