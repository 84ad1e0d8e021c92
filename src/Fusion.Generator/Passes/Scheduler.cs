using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Fusion.Generator.Emit;
using Fusion.Generator.Ir;

namespace Fusion.Generator.Passes
{
    /// <summary>
    /// Decides what each precision plan runs (step <c>Fusion.Schedule</c>), in the shape of Inductor's scheduler:
    /// <list type="number">
    /// <item>Each Linear takes the pointwise chain after it as its GEMM epilogue (bias, activation, layer scale, residual,
    /// a cast): values that go on only to the next operator of the chain, of the GEMM's shape.</item>
    /// <item>The remaining pointwise, layout and reduction operators are grouped, walking from the output backwards: an
    /// operator joins the group of its reader when all its readers are in that group (it is inlined: computed where it is
    /// read), or, when several groups or other steps read it, joins one of them as an extra stored output. A join is kept
    /// only if the group still lowers to one kernel (one reduction axis, views that keep each element once) and does not
    /// repeat a small value over a much larger one (broadcast blow-up); every refusal is a reason in the report (FUS102).</item>
    /// <item>Each group is lowered to the loop IR and printed as CUDA C; reshapes of values already in memory become views;
    /// the steps are ordered by their data and each value is freed after its last reader.</item>
    /// </list>
    /// </summary>
    internal static class Scheduler
    {
        /// <summary>Operators a group may hold before it is closed (a bound on registers and compile time).</summary>
        public const int MaxGroupSize = 48;

        /// <summary>A value repeated over more than this many times its size is computed once and stored instead.</summary>
        public const int MaxBroadcast = 8;

        public static ModelGraph Run(ModelGraph graph)
        {
            if (graph.HasErrors || graph.Output < 0 || graph.Plans.Count == 0) return graph;
            var names = new KernelNames();
            var plans = graph.Plans.Select(p =>
            {
                var schedule = new Planner(graph, p, names).Run();
                return p with { Schedule = schedule, Casts = p.Casts.Select(c => c.Fate.Length > 0 ? c : c with { Fate = CastFate(c.Node, schedule) }).ToEquatableArray() };
            }).ToEquatableArray();
            return graph with { Plans = plans };
        }

        /// <summary>Where a cast ended up: inside a generated kernel or GEMM epilogue with other work, alone, or as a conversion at the plan's edge.</summary>
        private static string CastFate(int cast, Schedule schedule)
        {
            var step = schedule.Steps.FirstOrDefault(s => s.Members.Contains(cast));
            if (step is null) return "not needed: nothing in the schedule reads it";
            string name = step.KernelName;
            return step.Kind switch
            {
                StepKind.Convert => "runs alone: MixedPrecision.Convert (a view, no copy, when the run's type is already the target)",
                StepKind.Kernel or StepKind.Gemm or StepKind.Template or StepKind.Mlp or StepKind.QkvAttention when step.Members.Count > 1 => $"fused into {name}: a load or store converts",
                StepKind.Kernel or StepKind.Gemm => $"runs alone as {name}",
                _ => "runs alone",
            };
        }

        /// <summary>Kernel names unique per text: the same name for the same kernel, a numbered suffix for a different one.</summary>
        private sealed class KernelNames
        {
            private readonly Dictionary<string, string> _textByName = new(StringComparer.Ordinal);

            public string Claim(string name, Func<string, string> text)
            {
                for (int n = 1; ; n++)
                {
                    var candidate = n == 1 ? name : name + "_" + n.ToString(CultureInfo.InvariantCulture);
                    var t = text(candidate);
                    if (!_textByName.TryGetValue(candidate, out var existing))
                    {
                        _textByName[candidate] = t;
                        return candidate;
                    }
                    if (existing == t) return candidate;
                }
            }
        }

        private sealed class Group
        {
            public Group(int root, bool constant)
            {
                Members.Add(root);
                Outputs.Add(root);
                Constant = constant;
            }

            public HashSet<int> Members { get; } = new();

            public List<int> Outputs { get; } = new();

            public bool Constant { get; }

            public LoweredGroup? Lowered { get; set; }
        }

        private sealed class Planner
        {
            private readonly ModelGraph _graph;
            private readonly PrecisionPlan _plan;
            private readonly KernelNames _names;
            private readonly IReadOnlyList<Node> _nodes;
            private readonly List<List<int>> _readers;
            private readonly bool[] _constant;
            private readonly Dictionary<int, List<int>> _epilogues = new();
            private readonly Dictionary<int, GemmEpilogue.EpiloguePool> _pools = new();
            private readonly Dictionary<int, List<int>> _branches = new();
            private readonly HashSet<int> _taken = new();
            private readonly Dictionary<int, (int Image, ConvGemm Geometry)> _convs = new();
            private readonly HashSet<int> _stored = new();
            private readonly List<int>[] _groupsOf;
            private readonly List<Group> _groups = new();
            private readonly HashSet<int> _views = new();
            private readonly List<FusionDecision> _decisions = new();

            public Planner(ModelGraph graph, PrecisionPlan plan, KernelNames names)
            {
                _graph = graph;
                _plan = plan;
                _names = names;
                _nodes = plan.Nodes;
                _readers = ReaderLists.Of(_nodes);
                _constant = new bool[_nodes.Count];
                foreach (var n in _nodes)
                    _constant[n.Id] = n.Is(Ops.Param) || n.Is(Ops.Scale) || n.Is(Ops.Const) || (!n.Is(Ops.Input) && n.Inputs.Count > 0 && n.Inputs.All(i => _constant[i]))
                        || (n.Inputs.Count == 0 && n.Descriptor.Class == OpClass.LoadTime);
                _groupsOf = _nodes.Select(_ => new List<int>()).ToArray();
            }

            public Schedule Run()
            {
                foreach (var n in _nodes)
                {
                    if (_constant[n.Id]) continue;
                    if (n.Is(Ops.Linear))
                    {
                        _epilogues[n.Id] = Epilogue(n);
                        ClaimPool(n, _epilogues[n.Id]);
                        ClaimBranch(n, _epilogues[n.Id]);
                        ClaimConvolution(n);
                    }
                    else if (n.Kernel is not null && FusionRules.TakesEpilogue(n.Descriptor) && Epilogue(n) is { Count: > 0 } chain) _epilogues[n.Id] = chain;
                }
                for (int id = _nodes.Count - 1; id >= 0; id--) Place(_nodes[id]);
                var steps = QkvAttentionPairs.Merge(MlpPairs.Merge(Order(Steps()), _plan.Output), _plan.Output, id => _nodes[id].Is(Ops.WindowAttention));
                steps = NormQkvAttentionPairs.Merge(steps, _plan.Output, _nodes);
                steps = AttentionOutputPairs.Merge(steps, _plan.Output);
                var hoisted = steps.Where(s => s.Constant).SelectMany(s => s.Outputs)
                    .Where(v => _readers[v].Any(r => !_constant[r]) || v == _plan.Output).Distinct().OrderBy(v => v).ToEquatableArray();
                return new Schedule(Lifetimes(steps, hoisted), hoisted, _decisions.ToEquatableArray());
            }

            // ---- 1. template epilogues ----------------------------------------------------------------------------------

            /// <summary>The pointwise chain a template (a Linear's GEMM, the attention) can finish in registers: each link the only reader of the previous one.</summary>
            private List<int> Epilogue(Node linear)
            {
                var chain = new List<int>();
                var end = linear;
                var shape = linear.Shape;
                while (end.Id != _plan.Output && _readers[end.Id].Count == 1)
                {
                    var next = _nodes[_readers[end.Id][0]];
                    // In a model that asks for it, a Linear's epilogue goes on through a view it can store through (a window reverse, a
                    // roll: ViewOp.Forward), and the links after it have the view's shape.
                    bool storedThrough = _graph.ViewsInGemmEpilogue && linear.Is(Ops.Linear) && next.Descriptor is ViewOp { Forwards: true } && next.Inputs.Count == 1
                        && !_constant[next.Id] && !_taken.Contains(next.Id);
                    // A link another template's epilogue has taken (an add of two GEMMs' products) stays that one's: this product is its input.
                    if (!storedThrough && (!FusionRules.InEpilogue(next.Descriptor) || _constant[next.Id] || !next.Shape.Equals(shape) || _taken.Contains(next.Id))) break;
                    if (next.Inputs.Any(i => i == end.Id) && next.Inputs.Count(i => i == end.Id) != 1) break;
                    var trial = LowerEpilogue(linear, chain.Concat(new[] { next.Id }).ToList(), out var why);
                    if (trial is null)
                    {
                        Decide(false, "gemm_epilogue", "", new[] { next.Id }, why!);
                        break;
                    }
                    chain.Add(next.Id);
                    end = next;
                    shape = next.Shape;
                }
                foreach (var id in chain) _taken.Add(id);
                return chain;
            }

            /// <summary>
            /// In a model that asks for it ([FusedModel(PoolInGemmEpilogue = true)]), a GEMM whose epilogue's result is read only by a float32 Sum or Mean (through permutes: a global average pool after a
            /// convolution, written NCHW) accumulates that sum in its epilogue, and the result itself is never stored
            /// (<see cref="GemmEpilogue.EpiloguePool"/>): no pooling kernel reads it back.
            /// </summary>
            private void ClaimPool(Node linear, List<int> chain)
            {
                if (!_graph.PoolInGemmEpilogue) return; // opt-in: measured slower than cuBLASLt's own epilogue and a pooling kernel (docs/perf.md)
                var end = chain.Count > 0 ? _nodes[chain[chain.Count - 1]] : linear;
                var permutes = new List<int>();
                while (end.Id != _plan.Output && _readers[end.Id].Count == 1)
                {
                    var next = _nodes[_readers[end.Id][0]];
                    if (_constant[next.Id] || _taken.Contains(next.Id)) return;
                    if (next.Is(Ops.Permute))
                    {
                        permutes.Add(next.Id);
                        end = next;
                        continue;
                    }
                    if (!FusionRules.PooledInGemmEpilogue(next.Descriptor)) return;
                    var pool = new GemmEpilogue.EpiloguePool(permutes.ToEquatableArray(), next.Id);
                    if (LowerEpilogue(linear, chain, out var why, pool) is null)
                    {
                        Decide(false, "gemm_epilogue", "", new[] { next.Id }, why!);
                        return;
                    }
                    _pools[linear.Id] = pool;
                    foreach (var id in pool.Members) _taken.Add(id);
                    return;
                }
            }

            /// <summary>
            /// An int8 GEMM's epilogue (always generated: cuBLASLt has no epilogue for the int8 product, so the template or its ILGPU form
            /// runs it on every path) whose result has several readers also computes and stores a pointwise chain of that result and
            /// constants: in ResNet, a block's output is read by the next block's residual add and by the next block's first
            /// convolution's quantize (· 1/sₓ, cast to i8), which would otherwise run as a kernel of its own reading the output back.
            /// The chain's end is a second output of the GEMM step (one chain: lowering walks back from that end through the shared
            /// value, which is stored where the walk reaches it). Not taken for fp16 or FP8 GEMMs, whose own cuBLASLt epilogue would
            /// give way to the product and an epilogue kernel.
            /// </summary>
            private void ClaimBranch(Node linear, List<int> chain)
            {
                if (_nodes[linear.Inputs[0]].Precision != FloatType.I8 || _pools.ContainsKey(linear.Id)) return;
                var end = chain.Count > 0 ? _nodes[chain[chain.Count - 1]] : linear;
                if (end.Id == _plan.Output || _readers[end.Id].Count < 2) return;
                foreach (int first in _readers[end.Id])
                {
                    var branch = new List<int>();
                    var (from, link) = (end, _nodes[first]);
                    while (SideLink(from, link, end))
                    {
                        var trial = branch.Concat(new[] { link.Id }).ToList();
                        if (LowerEpilogue(linear, chain, out var why, null, trial) is null)
                        {
                            Decide(false, "gemm_epilogue", "", new[] { link.Id }, why!);
                            break;
                        }
                        branch.Add(link.Id);
                        if (link.Id == _plan.Output || _readers[link.Id].Count != 1) break;
                        (from, link) = (link, _nodes[_readers[link.Id][0]]);
                    }
                    if (branch.Count == 0) continue;
                    _branches[linear.Id] = branch;
                    foreach (var id in branch) _taken.Add(id);
                    return;
                }
            }

            /// <summary>Whether <paramref name="link"/> continues a side chain at <paramref name="from"/>: pointwise, over the epilogue's domain, its other operands constants.</summary>
            private bool SideLink(Node from, Node link, Node end) =>
                FusionRules.InEpilogue(link.Descriptor) && !_constant[link.Id] && !_taken.Contains(link.Id) && link.Shape.Equals(end.Shape)
                && link.Inputs.Count(i => i == from.Id) == 1 && link.Inputs.All(i => i == from.Id || _constant[i]);

            /// <summary>
            /// An fp16 or float32 Linear over the im2col windows of a channels-last image of its type (a Conv2d after the layout pass:
            /// Im2col of the permute to NCHW of a [B, H, W, C] value, C a multiple of 8), or an int8 one over int8 codes of such an image
            /// (the Int8 plan quantizes a convolution's image: QuantizedWindows; C a multiple of 16), reads the image itself as an
            /// implicit-GEMM convolution: the im2col view, and the permute when nothing else reads it, are the GEMM's (never stored), and
            /// the image must be in memory. (Float32 ones run on the CPU's GEMM, which gathers the windows block by block, and on the GPU
            /// as the gather and cuBLASLt: the template is fp16 and int8.)
            /// </summary>
            private void ClaimConvolution(Node linear)
            {
                var windows = _nodes[linear.Inputs[0]];
                bool int8 = windows.Precision == FloatType.I8; // an int8 product's node is its float32 sums
                bool typed = int8 ? linear.Precision == FloatType.F32 : linear.Precision == windows.Precision && windows.Precision is FloatType.F16 or FloatType.F32;
                if (!windows.Is(Ops.Im2col) || _readers[windows.Id].Count != 1 || !typed) return;
                var permute = _nodes[windows.Inputs[0]];
                if (!permute.Is(Ops.Permute) || !permute.Attributes.Ints("axes").SequenceEqual(new long[] { 0, 3, 1, 2 })) return;
                var image = _nodes[permute.Inputs[0]];
                if (image.Shape.Count != 4 || image.Precision != windows.Precision || !ConvGemm.Fits(image.Shape[3].Value, int8) || image.Shape.Skip(1).Any(d => d.Dynamic)) return;
                var g = ConvGeometry.Of(windows.Attributes);
                var conv = new ConvGemm((int)image.Shape[1].Value, (int)image.Shape[2].Value, (int)image.Shape[3].Value, (int)g.Kernel, (int)g.Stride, (int)g.Padding, (int)g.Dilation);
                _convs[linear.Id] = (image.Id, conv);
                _taken.Add(windows.Id);
                if (_readers[permute.Id].All(_taken.Contains)) _taken.Add(permute.Id); // read by implicit GEMMs alone (in node order, the last claims it)
                _stored.Add(image.Id);
            }

            /// <summary>The epilogue of <paramref name="linear"/> and <paramref name="chain"/> as one kernel, or null with why not.</summary>
            private LoweredGroup? LowerEpilogue(Node linear, List<int> chain, out string? why, GemmEpilogue.EpiloguePool? pool = null,
                IReadOnlyList<int>? branch = null)
            {
                why = null;
                try
                {
                    return linear.Is(Ops.Linear)
                        ? GemmEpilogue.Lower("epilogue", Lowering, _nodes.Count, Lowering(linear.Id), chain, pool, branch)
                        : GemmEpilogue.Lower("epilogue", Lowering, _nodes.Count, Lowering(linear.Id), bias: -1, chain);
                }
                catch (LoweringException e)
                {
                    why = e.Message;
                    return null;
                }
            }

            // ---- 2. groups ----------------------------------------------------------------------------------------------

            private bool Groupable(Node n) => !_taken.Contains(n.Id) && FusionRules.Grouped(n.Descriptor);

            /// <summary>Assigns node <paramref name="n"/> (walking backwards) to a group, a view, or nothing (it is a step of its own).</summary>
            private void Place(Node n)
            {
                if (!Groupable(n)) return;
                bool constant = _constant[n.Id];
                bool outside = n.Id == _plan.Output || _stored.Contains(n.Id); // an implicit-GEMM convolution reads it from memory
                var groups = new List<int>();
                foreach (var r in _readers[n.Id])
                {
                    if (_groupsOf[r].Count == 0) outside = true;
                    foreach (int g in _groupsOf[r])
                    {
                        if (_groups[g].Constant != constant) outside = true;
                        else if (!groups.Contains(g)) groups.Add(g);
                    }
                }
                if (groups.Count == 0 && outside && FusionRules.ViewOfMemory(n.Descriptor) && !n.Inputs.Any(i => _nodes[i].Is(Ops.Const)))
                {
                    _views.Add(n.Id); // read only by steps that take buffers: a reshape is a view of its input's memory
                    return;
                }
                if (groups.Count > 1 && !outside && (Duplicable(n) || Rearranges(n)) && JoinsAll(groups, n))
                {
                    // Index math and casts of values already in memory are recomputed by every kernel that reads them (an input's
                    // cast, the head split of a packed qkv): moving or converting in each load costs less than storing a copy.
                    return;
                }
                if (groups.Count == 1 && !outside)
                {
                    var why = TryJoin(_groups[groups[0]], n, store: false);
                    if (why is null) return;
                    Decide(false, "fusion", "", new[] { n.Id, _groups[groups[0]].Outputs[0] }, why);
                }
                else if (groups.Count > 0)
                {
                    var reasons = new List<string>();
                    foreach (var g in groups)
                    {
                        var why = Cycle(n, _groups[g]) ?? TryJoin(_groups[g], n, store: true);
                        if (why is null) return;
                        reasons.Add(why);
                    }
                    // A cast read by several kernels is expected (an input entering the plan); anything else says why it could not join them.
                    if (!n.Is(Ops.Cast))
                        Decide(false, "fusion", "", new[] { n.Id }, $"read by {groups.Count + (outside ? 1 : 0)} steps, so stored by a kernel of its own: " + string.Join("; ", reasons.Distinct()));
                }
                var group = new Group(n.Id, constant);
                var lowered = TryLower(group.Members, group.Outputs, out var error);
                if (lowered is null) throw new InvalidOperationException($"{n.Op} at {n.Source} cannot be lowered on its own: {error}");
                group.Lowered = lowered;
                _groupsOf[n.Id].Add(_groups.Count);
                _groups.Add(group);
            }

            /// <summary>
            /// A view that only rearranges its input (a permute): read by several kernels, each reads it through its index math and its
            /// input is stored instead, in the order its producer computes it (a pooling's channels-last result, not its NCHW view).
            /// </summary>
            private static bool Rearranges(Node n) => n.Descriptor is ViewOp { Bijective: true } && n.Inputs.Count == 1;

            /// <summary>A view or cast whose inputs are in memory or are such nodes too: cheap enough to recompute in each reader's kernel.</summary>
            private bool Duplicable(Node n) =>
                FusionRules.RecomputedPerReader(n.Descriptor) && n.Inputs.All(i => !Groupable(_nodes[i]) || Duplicable(_nodes[i]));

            /// <summary>Adds <paramref name="n"/> to <paramref name="group"/> if the group still lowers to one kernel; else why not.</summary>
            private string? TryJoin(Group group, Node n, bool store)
            {
                if (group.Members.Count >= MaxGroupSize) return $"the kernel already fuses {MaxGroupSize} operators";
                var root = _nodes[group.Outputs[0]];
                // Constants are computed once, at load: recomputing a small value there costs nothing and saves a kernel.
                if (!store && !group.Constant && n.Descriptor.Class == OpClass.Pointwise && Count(n) * MaxBroadcast < Count(root))
                    return $"broadcast blow-up: '{n.Source}' {n.ShapeText} would be recomputed for each of the {root.ShapeText} elements of '{root.Source}'";
                var members = new HashSet<int>(group.Members) { n.Id };
                var outputs = store ? group.Outputs.Concat(new[] { n.Id }).ToList() : group.Outputs;
                var lowered = TryLower(members, outputs, out var why);
                if (lowered is null) return why;
                group.Members.Add(n.Id);
                if (store) group.Outputs.Add(n.Id);
                group.Lowered = lowered;
                _groupsOf[n.Id].Add(_groups.IndexOf(group));
                return null;
            }

            /// <summary>Adds <paramref name="n"/> inline to every one of <paramref name="groups"/> if each still lowers; else changes nothing.</summary>
            private bool JoinsAll(List<int> groups, Node n)
            {
                var lowered = new List<LoweredGroup>();
                foreach (var g in groups)
                {
                    var l = TryLower(new HashSet<int>(_groups[g].Members) { n.Id }, _groups[g].Outputs, out _);
                    if (l is null) return false;
                    lowered.Add(l);
                }
                for (int i = 0; i < groups.Count; i++)
                {
                    _groups[groups[i]].Members.Add(n.Id);
                    _groups[groups[i]].Lowered = lowered[i];
                    _groupsOf[n.Id].Add(groups[i]);
                }
                return true;
            }

            /// <summary>Why storing <paramref name="n"/> from <paramref name="group"/> would make two steps wait for each other, or null.</summary>
            private string? Cycle(Node n, Group group)
            {
                var seen = new HashSet<int>();
                var stack = new Stack<int>(_readers[n.Id].Where(r => !group.Members.Contains(r)));
                while (stack.Count > 0)
                {
                    int id = stack.Pop();
                    if (!seen.Add(id)) continue;
                    if (group.Members.Contains(id)) return $"'{_nodes[id].Source}' would wait for a value computed after '{n.Source}'";
                    foreach (var r in _readers[id]) stack.Push(r);
                }
                return null;
            }

            private LoweredGroup? TryLower(HashSet<int> members, List<int> outputs, out string? why)
            {
                why = null;
                try
                {
                    // Buffers are named by position (in0, in1, …), not by the values a model passes, so identical layers share one kernel.
                    return GroupLowering.Lower("kernel", Lowering, members, outputs);
                }
                catch (LoweringException e)
                {
                    why = e.Message;
                    return null;
                }
            }

            // ---- 3. steps -----------------------------------------------------------------------------------------------

            private List<Step> Steps()
            {
                var steps = new List<Step>();
                foreach (var g in _groups)
                {
                    var members = g.Members.OrderBy(i => i).ToList();
                    if (members.Count == 1 && IsIoCast(_nodes[members[0]]))
                    {
                        var cast = _nodes[members[0]];
                        steps.Add(new Step(StepKind.Convert, g.Constant, cast.Id, cast.Inputs, EquatableArray.Of(cast.Id), EquatableArray.Of(cast.Id), null, null));
                        continue;
                    }
                    var kernel = Kernel(g.Lowered!, members, KernelName(members, _nodes[g.Outputs[0]], g.Lowered!.Kernel));
                    steps.Add(new Step(StepKind.Kernel, g.Constant, g.Lowered!.Outputs[0], g.Lowered.Inputs, g.Lowered.Outputs, members.ToEquatableArray(), kernel, null));
                    _decisions.Add(new FusionDecision(true, "generated", kernel.Name, members.Where(m => !_nodes[m].Is(Ops.Const)).Select(m => _nodes[m].Source).ToEquatableArray(),
                        "", _nodes[g.Outputs[0]].Scope, _nodes[g.Outputs[0]].Location));
                }
                foreach (var n in _nodes)
                {
                    if (_views.Contains(n.Id)) steps.Add(new Step(StepKind.View, _constant[n.Id], n.Id, n.Inputs, EquatableArray.Of(n.Id), EquatableArray.Of(n.Id), null, null));
                    else if (_epilogues.TryGetValue(n.Id, out var chain)) steps.Add(n.Is(Ops.Linear) ? GemmStep(n, chain) : TemplateStep(n, chain));
                    else if (!Groupable(n) && !_taken.Contains(n.Id) && !n.IsSource)
                        steps.Add(new Step(StepKind.Call, _constant[n.Id], n.Id, n.Inputs, EquatableArray.Of(n.Id), EquatableArray.Of(n.Id), null, null));
                }
                return steps;
            }

            private Step GemmStep(Node linear, List<int> chain)
            {
                var pool = _pools.TryGetValue(linear.Id, out var pooled) ? pooled : null;
                var branch = _branches.TryGetValue(linear.Id, out var side) ? side : null;
                var lowered = LowerEpilogue(linear, chain, out var why, pool, branch) ?? throw new InvalidOperationException($"the epilogue of {linear.Source} no longer lowers: {why}");
                var sideMembers = branch ?? new List<int>();
                var members = new[] { linear.Id }.Concat(chain).Concat(pool?.Members ?? Enumerable.Empty<int>()).Concat(sideMembers).ToList();
                int n = (int)linear.Shape[linear.Shape.Count - 1].Value, k = (int)_nodes[linear.Inputs[1]].Shape[1].Value;
                var ops = chain.Concat(pool is null ? Enumerable.Empty<int>() : new[] { pool.Reduction }).Concat(sideMembers).Select(c => Snake(_nodes[c].Op)).ToList();
                if (linear.Inputs.Count > 2) ops.Insert(0, "bias");
                // An int8 product (the Int8 plan's quantized Linears: both operands i8) runs the template's int8 form (CUDA C or ILGPU);
                // cuBLASLt has no epilogue for it (no per-channel dequantize). An FP8 product (the Fp8 plan's: both operands
                // f8) runs cuBLASLt's FP8 product alone, with its scales, bias, activation and output quantize where its epilogue has them.
                var operands = _nodes[linear.Inputs[0]].Precision;
                bool int8 = operands == FloatType.I8, fp8 = operands == FloatType.F8;
                var type = int8 || fp8 ? "_" + operands.Short() : linear.Precision == FloatType.F16 ? "" : "_" + linear.Precision.Short();
                var conv = _convs.TryGetValue(linear.Id, out var claimed) ? claimed.Geometry : null;
                var name = (conv is null ? "gemm" : "conv_gemm") + (ops.Count > 0 ? "_" + string.Join("_", ops.Take(5)) : "") + $"_n{n}_k{k}{type}";
                var epilogueInputs = GemmEpilogue.Inputs(lowered, _nodes.Count);
                // cuBLASLt's own epilogues store the whole product: a pooled one is finished by the epilogue kernel (or the template).
                var plain = int8 || fp8 || pool is not null || branch is not null ? (Activation: -1, Bias: -1, Residual: -1, ResidualFirst: false, ToIo: false) : GemmEpilogue.CublasForm(Lowering, Lowering(linear.Id), chain, epilogueInputs);
                var cublas = fp8 && pool is null && branch is null ? GemmEpilogue.CublasFp8Form(Lowering, Lowering(linear.Id), chain, epilogueInputs)
                    : (plain.Activation, plain.Bias, plain.Residual, Scale: -1, OutScale: -1);
                GemmSpec? spec = null;
                var final = _names.Claim(name, candidate =>
                {
                    var epilogue = Kernel(lowered, members, candidate + "_epilogue");
                    var epilogueIr = lowered.Kernel with { Name = candidate + "_epilogue" };
                    var cuda = fp8 ? "" : GemmSource.Specialize(candidate, n, k, epilogueIr, KernelSourceWriter.Template(GemmSource.Pattern), int8, conv);
                    spec = new GemmSpec(candidate, n, k, fp8 ? k : GemmRows.Stride(k, int8), cuda, epilogue, cublas.Activation, cublas.Bias, cublas.Residual)
                    // The template is fp16 or int8 (a float32 Linear runs as cuBLASLt and the epilogue kernel, an FP8 one as cuBLASLt's FP8
                    // product), so those two get an ILGPU version.
                    {
                        // A convolution's GEMM too: the ILGPU template reads its image as the CUDA one does (implicit GEMM).
                        Ilgpu = (linear.Precision == FloatType.F16 || int8) && !fp8 ? IlgpuGemmPrinter.PrintAll(candidate, n, k, epilogueIr, conv, int8) : "",
                        Int8 = int8, Fp8 = fp8, CublasScale = cublas.Scale, CublasOutScale = cublas.OutScale, CublasResidualFirst = plain.ResidualFirst, CublasToIo = plain.ToIo, Conv = conv,
                    };
                    return spec.ToString();
                });
                var inputs = new[] { conv is null ? linear.Inputs[0] : claimed.Image, linear.Inputs[1] }.Concat(epilogueInputs).ToEquatableArray();
                _decisions.Add(new FusionDecision(true, "gemm", final, members.Select(m => _nodes[m].Source).ToEquatableArray(), "", linear.Scope, linear.Location));
                return new Step(StepKind.Gemm, false, linear.Id, inputs, lowered.Outputs, members.ToEquatableArray(), null, spec);
            }

            /// <summary>A template node (its pattern's kernel spec from the fusion pass) with <paramref name="chain"/> printed in as its epilogue.</summary>
            private Step TemplateStep(Node template, List<int> chain)
            {
                var lowered = LowerEpilogue(template, chain, out var why) ?? throw new InvalidOperationException($"the epilogue of {template.Source} no longer lowers: {why}");
                var members = new[] { template.Id }.Concat(chain).ToList();
                var spec = template.Kernel!;
                var name = spec.Name + "_" + string.Join("_", chain.Select(c => Snake(_nodes[c].Op)).Distinct().Take(5))
                    + (template.Precision == FloatType.F16 ? "" : "_" + template.Precision.Short());
                TemplateSpec? result = null;
                var final = _names.Claim(name, candidate =>
                {
                    var epilogue = Kernel(lowered, members, candidate + "_epilogue");
                    var cuda = KernelText.Specialize(spec.Pattern, candidate, spec.Constants.Select(c => new KeyValuePair<string, int>(c.Key, c.Value)),
                        KernelSourceWriter.Template(spec.Pattern), "generated.cuh", CudaEpiloguePrinter.Print(lowered.Kernel with { Name = candidate + "_epilogue" }));
                    result = new TemplateSpec(candidate, spec.Pattern, spec.Constants, cuda, epilogue)
                    // The templates read fp16 (a float32 plan's attention runs unfused), so only an fp16 one gets an ILGPU version.
                    { Ilgpu = template.Precision == FloatType.F16 ? IlgpuTemplateSource.Print(spec.Pattern, candidate, spec.Constants, lowered.Kernel with { Name = candidate + "_epilogue" }) : "" };
                    return result.ToString();
                });
                var inputs = template.Inputs.Concat(GemmEpilogue.Inputs(lowered, _nodes.Count)).ToEquatableArray();
                _decisions.Add(new FusionDecision(true, spec.Pattern + "_epilogue", final, members.Select(m => _nodes[m].Source).ToEquatableArray(), "", template.Scope, template.Location));
                return new Step(StepKind.Template, false, template.Id, inputs, lowered.Outputs, members.ToEquatableArray(), null, null) { Template = result };
            }

            private GeneratedKernelSpec Kernel(LoweredGroup lowered, List<int> members, string name)
            {
                GeneratedKernelSpec? spec = null;
                var claimed = _names.Claim(name, candidate =>
                {
                    var kernel = lowered.Kernel with { Name = candidate };
                    var printed = CudaKernelPrinter.Print(kernel);
                    spec = new GeneratedKernelSpec(candidate, LoopIrText.Print(kernel), printed.Source, printed.Launch.Encode(), printed.Strategy,
                        members.Where(m => m < _nodes.Count && !_nodes[m].Is(Ops.Const)).Select(m => $"{_nodes[m].Op}: {_nodes[m].Source}").ToEquatableArray())
                    { Ilgpu = IlgpuKernelPrinter.PrintAll(kernel) };
                    return spec.LoopIr;
                });
                return spec!;
            }

            /// <summary>A cast from or to the run's input/output type: alone it is a view whenever the run's type is the target already.</summary>
            private bool IsIoCast(Node n) => n.Is(Ops.Cast) && (n.Precision == FloatType.Io || _nodes[n.Inputs[0]].Precision == FloatType.Io);

            /// <summary>"layer_norm_roll_window_partition_f16_64nx49x96": the operators (up to five), the buffers' types and the domain.</summary>
            private string KernelName(List<int> members, Node root, LoopKernel kernel)
            {
                var ops = new List<string>();
                foreach (var m in members)
                {
                    var n = _nodes[m];
                    if (n.Is(Ops.Const)) continue;
                    var op = Snake(n.Op);
                    if (ops.Count == 0 || ops[ops.Count - 1] != op) ops.Add(op);
                }
                var distinct = ops.Distinct().ToList();
                var text = string.Join("_", distinct.Take(5)) + (distinct.Count > 5 ? "_etc" : "");
                var dims = string.Join("x", root.Shape.Select(d => d.Dynamic ? (d.Value == 1 ? "n" : d.Value.ToString(CultureInfo.InvariantCulture) + "n") : d.Value.ToString(CultureInfo.InvariantCulture)));
                var types = string.Join("_", kernel.Buffers.Select(b => b.Type.Short()).Distinct());
                return $"{text}_{types}_{(dims.Length == 0 ? "scalar" : dims)}";
            }

            /// <summary>Data order: a step after the steps whose values it reads; among ready steps the one computing the earliest node.</summary>
            private List<Step> Order(List<Step> steps)
            {
                var producer = new Dictionary<int, int>();
                for (int s = 0; s < steps.Count; s++)
                    foreach (var o in steps[s].Outputs) producer[o] = s;
                var waiting = steps.Select(s => s.Inputs.Where(producer.ContainsKey).Select(i => producer[i]).Distinct().Count()).ToArray();
                var ready = new SortedSet<(int Key, int Step)>(Enumerable.Range(0, steps.Count).Where(s => waiting[s] == 0).Select(s => (steps[s].Members.Min(), s)));
                var order = new List<Step>();
                var done = new bool[steps.Count];
                while (ready.Count > 0)
                {
                    var (_, s) = ready.Min;
                    ready.Remove(ready.Min);
                    done[s] = true;
                    order.Add(steps[s]);
                    for (int t = 0; t < steps.Count; t++)
                    {
                        if (done[t] || !steps[t].Inputs.Any(i => producer.TryGetValue(i, out var p) && p == s)) continue;
                        if (--waiting[t] == 0) ready.Add((steps[t].Members.Min(), t));
                    }
                }
                if (order.Count != steps.Count) throw new InvalidOperationException("the schedule has a cycle between steps");
                return order;
            }

            /// <summary>Marks after each step the values whose last reader it is (inputs, parameters, hoisted constants and the output stay).</summary>
            private EquatableArray<Step> Lifetimes(List<Step> steps, EquatableArray<int> hoisted)
            {
                var last = new Dictionary<int, int>();
                for (int s = 0; s < steps.Count; s++)
                    foreach (var i in steps[s].Inputs) last[i] = s;
                var owned = new HashSet<int>(steps.Where(s => s.Kind != StepKind.Call || !_nodes[s.Node].Is(Ops.Param)).SelectMany(s => s.Outputs));
                var result = new List<Step>();
                for (int s = 0; s < steps.Count; s++)
                {
                    var frees = steps[s].Inputs.Distinct().Where(i => owned.Contains(i) && last[i] == s && i != _plan.Output
                        && _constant[i] == steps[s].Constant && !(steps[s].Constant ? hoisted.Contains(i) : _constant[i])).ToList();
                    // Outputs nobody reads (a stored value whose readers were all fused elsewhere) die at once.
                    frees.AddRange(steps[s].Outputs.Where(o => !last.ContainsKey(o) && o != _plan.Output && !(steps[s].Constant && hoisted.Contains(o))));
                    result.Add(steps[s] with { Frees = frees.ToEquatableArray() });
                }
                return result.ToEquatableArray();
            }

            // ---- helpers --------------------------------------------------------------------------------------------------

            private LoweringNode Lowering(int id)
            {
                var n = _nodes[id];
                return new LoweringNode(n.Id, n.Op, n.Inputs, n.Attributes, n.Shape, n.Precision);
            }


            private static long Count(Node n) => n.Shape.Aggregate(1L, (p, d) => p * d.Value);

            private void Decide(bool fused, string pattern, string kernel, IEnumerable<int> nodes, string reason)
            {
                var list = nodes.ToList();
                var at = _nodes[list[0]];
                _decisions.Add(new FusionDecision(fused, pattern, kernel, list.Select(i => _nodes[i].Source).ToEquatableArray(), reason, at.Scope, at.Location));
            }

            /// <summary>"LayerNorm" → "layer_norm".</summary>
            public static string Snake(string op)
            {
                var s = new System.Text.StringBuilder();
                for (int i = 0; i < op.Length; i++)
                {
                    if (char.IsUpper(op[i]) && i > 0) s.Append('_');
                    s.Append(char.ToLowerInvariant(op[i]));
                }
                return s.ToString();
            }
        }
    }
}
