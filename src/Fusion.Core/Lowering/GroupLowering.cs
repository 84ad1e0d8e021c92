using System;
using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>A graph node as the lowering sees it: operator, inputs, attributes, shape and float type.</summary>
    internal sealed record LoweringNode(int Id, string Op, EquatableArray<int> Inputs, AttributeSet Attributes, EquatableArray<Dim> Shape, FloatType Type);

    /// <summary>A group lowered to one kernel: the kernel and which graph values its input and output buffers are.</summary>
    /// <param name="Inputs">The graph node of each input buffer, in buffer order (the accumulator's template node included).</param>
    /// <param name="Outputs">The graph node each output buffer stores, in buffer order.</param>
    internal sealed record LoweredGroup(LoopKernel Kernel, EquatableArray<int> Inputs, EquatableArray<int> Outputs);

    /// <summary>Why a group cannot be one kernel (the scheduler splits it and reports the reason).</summary>
    internal sealed class LoweringException(string message) : Exception(message);

    /// <summary>
    /// Lowers a fused group to the loop IR the way Inductor does: every value is a function of an index. Starting from the
    /// group's first output, whose shape is the kernel's domain, each node is evaluated at an index tuple of index expressions:
    /// a pointwise node at its operands' broadcast indices, a view at the index its <see cref="ViewOp.Read"/> gives (so views
    /// become index math in the loads), a reduction through its <see cref="ReductionOp.Build"/> with the reduction variable
    /// bound to the reduced axis, and a value outside the group as a load of its buffer. Identical instructions are shared.
    /// Further outputs are stored where the evaluation reached them, which must be once per element (through views that
    /// move every element exactly once).
    /// </summary>
    internal sealed class GroupLowering : IScalarBuilder
    {
        private readonly Func<int, LoweringNode> _node;
        private readonly ISet<int> _members;
        private readonly int _accumulator;
        private readonly List<Dim> _extents;
        private readonly IndexAlgebra _algebra;
        private readonly List<Instr> _body = new();
        private readonly Dictionary<string, int> _shared = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Val> _memo = new(StringComparer.Ordinal);
        private readonly List<KernelBuffer> _inputBuffers = new();
        private readonly List<int> _inputNodes = new();
        private readonly Dictionary<int, List<(IndexExpr[] Index, bool Onto)>> _reached = new();
        private readonly Func<int, string>? _bufferName;
        private int _reduceVar = -1;
        private long _reduceExtent;
        /// <summary>The views a template's result is stored through: each one's output index (as text) and the input index it came from.</summary>
        private readonly Dictionary<int, (string Output, IndexExpr[] Input)> _through = new();
        private IReadOnlyList<int> _storedThrough = Array.Empty<int>();

        private GroupLowering(Func<int, LoweringNode> node, ISet<int> members, int accumulator, IReadOnlyList<Dim> domain, Func<int, string>? bufferName)
        {
            _node = node;
            _members = members;
            _accumulator = accumulator;
            _extents = domain.ToList();
            _algebra = new IndexAlgebra(_extents);
            _bufferName = bufferName;
        }

        /// <summary>
        /// Lowers the group <paramref name="members"/> whose stored values are <paramref name="outputs"/> (the first one's shape is the domain).
        /// </summary>
        /// <param name="node">Every graph node by id.</param>
        /// <param name="accumulator">A template node whose result the group reads as its accumulator (a GEMM epilogue), or -1.</param>
        /// <param name="bufferName">Names for the input buffers (by graph node), for a readable IR; in0, in1, … when null.</param>
        /// <param name="domain">
        /// The loop nest, when not the first output's shape: a shape with the same elements in the same order (a GEMM epilogue runs
        /// over [rows, N] whatever the output's rank, so its index math is the GEMM's own).
        /// </param>
        /// <param name="storedThrough">
        /// Views between the domain's value and the first output, in order, each the only reader of the one before (a GEMM epilogue
        /// that stores through a window reverse and a roll): the domain stays the first view's input's and the output is stored at
        /// the index each view's <see cref="ViewOp.Forward"/> takes it to, so the template's value is read at its own index.
        /// </param>
        public static LoweredGroup Lower(string name, Func<int, LoweringNode> node, ISet<int> members, IReadOnlyList<int> outputs, int accumulator = -1,
            Func<int, string>? bufferName = null, IReadOnlyList<Dim>? domain = null, IReadOnlyList<int>? storedThrough = null)
        {
            if (outputs.Count == 0) throw new LoweringException("a group stores at least one value");
            var root = node(outputs[0]);
            var loops = domain ?? root.Shape;
            var lowering = new GroupLowering(node, members, accumulator, loops, bufferName) { _storedThrough = storedThrough ?? Array.Empty<int>() };
            return lowering.Run(name, outputs, loops);
        }

        /// <summary>
        /// Lowers a group whose value <paramref name="source"/> is not stored but summed into <paramref name="reduction"/>, a Sum or Mean
        /// of it read through <paramref name="permutes"/> (a layout's permutes, each the only reader of the one before): each point of
        /// the domain adds its value (over the reduced extent, for a Mean) into the reduction's element by an accumulating store, so the
        /// kernel has no reduction loop of its own and any number of blocks may add into one element. The reduction's value is float32
        /// (the buffer the adds land in, cleared before the kernel). This is how a GEMM epilogue takes a global average pool.
        /// </summary>
        public static LoweredGroup LowerAccumulated(string name, Func<int, LoweringNode> node, ISet<int> members, int source, IReadOnlyList<int> permutes,
            int reduction, int accumulator, IReadOnlyList<Dim> domain)
        {
            var sum = node(reduction);
            if (Ops.Get(sum.Op) is not ReduceOp { Kind: ReduceKind.Sum } reduce)
                throw new LoweringException($"{sum.Op} {Dims.Text(sum.Shape)} is no sum or mean: only those can be accumulated by adds in any order");
            if (sum.Type != FloatType.F32) throw new LoweringException($"{sum.Op} {Dims.Text(sum.Shape)} is {sum.Type.Short()}: an accumulated sum is float32");
            var lowering = new GroupLowering(node, members, accumulator, domain, null);
            var root = node(source);
            var index = lowering.IndexOver(domain, root.Shape);
            var value = lowering.Eval(source, index, Array.Empty<IndexBound>(), onto: true);
            // Through each permute: output axis i is input axis axes[i], so the value sits at index[axes[i]] on axis i.
            foreach (var p in permutes)
            {
                var permute = node(p);
                if (permute.Op != Ops.Permute.Name) throw new LoweringException($"{permute.Op} between the value and its sum: only permutes are followed");
                var axes = permute.Attributes.Ints("axes");
                index = axes.Select(a => index[Dims.Axis(a, axes.Length)]).ToArray();
            }
            var input = node(sum.Inputs[0]);
            var reduced = reduce.ReducedAxes(input.Shape.Count, sum.Attributes);
            bool keep = sum.Attributes.IntOr("keepDim", 0) != 0;
            var outIndex = index.Select((e, a) => reduced.Contains(a) ? (keep ? IndexExpr.Zero : null) : e).Where(e => e is not null).Select(e => e!).ToArray();
            long extent = reduced.Aggregate(1L, (p, a) => p * input.Shape[a].Value);
            var added = reduce.Averages ? lowering.Op(ScalarOp.Mul, value, lowering.Const(1.0 / extent)) : value;
            int buffer = lowering._inputBuffers.Count;
            var output = new KernelBuffer("out0", BufferRole.Output, FloatType.F32, sum.Shape);
            if (lowering._reduceVar >= 0) throw new LoweringException($"{Dims.Text(root.Shape)}: a value summed by accumulation has no reduction of its own");
            lowering._body.Add(new StoreInstr(lowering._body.Count, buffer, Layout.Offset(outIndex, sum.Shape, lowering._algebra), added.Id, Accumulate: true));
            var kernel = new LoopKernel(name, lowering._inputBuffers.Concat(new[] { output }).ToEquatableArray(), domain.ToEquatableArray(), -1, 0, lowering._body.ToEquatableArray());
            return new LoweredGroup(kernel, lowering._inputNodes.ToEquatableArray(), EquatableArray.Of(reduction));
        }

        private LoweredGroup Run(string name, IReadOnlyList<int> outputs, IReadOnlyList<Dim> loops)
        {
            var root = _node(outputs[0]);
            var domainIndex = _storedThrough.Count > 0 ? Forwarded(loops) : IndexOver(loops, root.Shape);
            var values = new List<(int Node, IndexExpr[] Index, Val Value)> { (root.Id, domainIndex, Eval(root.Id, domainIndex, Array.Empty<IndexBound>(), onto: true)) };
            foreach (var other in outputs.Skip(1))
            {
                if (!_reached.TryGetValue(other, out var reached) || reached.Count == 0)
                    throw new LoweringException($"{Describe(other)} is not computed on the way to {Describe(root.Id)}");
                var distinct = reached.GroupBy(r => string.Join(",", r.Index.Select(i => i.ToString()))).ToList();
                if (distinct.Count != 1 || !reached.Any(r => r.Onto))
                    throw new LoweringException($"{Describe(other)} is read {(distinct.Count != 1 ? "at several places per element" : "through a broadcast, slice or reduction")}, so it cannot be stored from this kernel");
                values.Add((other, reached[0].Index, Eval(other, reached[0].Index, Array.Empty<IndexBound>(), onto: true)));
            }

            var outputBuffers = new List<KernelBuffer>();
            var stores = new List<(int Buffer, IndexExpr Offset, Val Value)>();
            foreach (var (id, index, value) in values)
            {
                var n = _node(id);
                int buffer = _inputBuffers.Count + outputBuffers.Count;
                outputBuffers.Add(new KernelBuffer("out" + outputBuffers.Count, BufferRole.Output, n.Type, n.Shape));
                stores.Add((buffer, Layout.Offset(index, n.Shape, _algebra), value));
            }
            // Input buffers were numbered as met; outputs come after them.
            var perElement = PerElementValues();
            foreach (var (buffer, offset, value) in stores)
            {
                bool offsetPerElement = _reduceVar >= 0 && offset.Uses(_reduceVar);
                if (perElement.Contains(value.Id) && !offsetPerElement)
                    throw new LoweringException("a value that varies along the reduced axis would be stored once per row");
                if (offsetPerElement && _reduceVar == _extents.Count)
                    throw new LoweringException("a stored value varies along an axis the kernel reduces away");
                int id = _body.Count;
                _body.Add(new StoreInstr(id, buffer, offset, value.Id));
            }
            var kernel = new LoopKernel(name, _inputBuffers.Concat(outputBuffers).ToEquatableArray(), loops.ToEquatableArray(),
                _reduceVar, _reduceExtent, _body.ToEquatableArray());
            return new LoweredGroup(kernel, _inputNodes.ToEquatableArray(), values.Select(v => v.Node).ToEquatableArray());
        }

        /// <summary>
        /// The index of a value of shape <paramref name="shape"/> at the loop variables of <paramref name="loops"/>: the variables
        /// themselves, or the same element order unravelled (a GEMM epilogue's [rows, N] over an output of higher rank).
        /// </summary>
        private IndexExpr[] IndexOver(IReadOnlyList<Dim> loops, EquatableArray<Dim> shape)
        {
            var loopIndex = Enumerable.Range(0, loops.Count).Select(IndexExpr.Var).ToArray();
            return loops.SequenceEqual(shape) ? loopIndex : Layout.Unravel(Layout.Offset(loopIndex, loops, _algebra), shape, _algebra);
        }

        /// <summary>
        /// The first output's index at each point of the domain when it is stored through views: the domain over the first view's input,
        /// then each view's <see cref="ViewOp.Forward"/>; each view remembers the input index, so that reading it back at the output index
        /// gives the domain's own index, not a composition of divisions the algebra might not undo.
        /// </summary>
        private IndexExpr[] Forwarded(IReadOnlyList<Dim> loops)
        {
            var index = IndexOver(loops, _node(_node(_storedThrough[0]).Inputs[0]).Shape);
            foreach (var id in _storedThrough)
            {
                var view = _node(id);
                var input = _node(view.Inputs[0]);
                var forward = (Ops.Get(view.Op) as ViewOp)?.Forward(new ViewQuery(new[] { input.Shape.ToArray() }, view.Shape.ToArray(), view.Attributes, index, _algebra))
                    ?? throw new LoweringException($"{Describe(id)} cannot be stored through (no forward index)");
                _through[id] = (IndexKey(forward), index);
                index = forward;
            }
            return index;
        }

        private static string IndexKey(IndexExpr[] index) => string.Join(",", index.Select(i => i.ToString()));

        /// <summary>The value of node <paramref name="id"/> at <paramref name="index"/>; loads read nothing where a guard fails.</summary>
        /// <param name="onto">Whether the domain reaches each element of the node exactly once at this index (so it may be stored).</param>
        private Val Eval(int id, IndexExpr[] index, IndexBound[] guard, bool onto)
        {
            var node = _node(id);
            if (_members.Contains(id))
            {
                if (!_reached.TryGetValue(id, out var list)) _reached[id] = list = new List<(IndexExpr[], bool)>();
                list.Add((index, onto));
            }
            string key = id + "@" + string.Join(",", index.Select(i => i.ToString())) + "|" + GuardKey(guard);
            if (_memo.TryGetValue(key, out var known)) return known;
            var value = Compute(node, index, guard, onto);
            _memo[key] = value;
            return value;
        }

        private Val Compute(LoweringNode node, IndexExpr[] index, IndexBound[] guard, bool onto)
        {
            if (node.Op == Ops.Const.Name) return Const(node.Attributes.Float("value"));
            if (!_members.Contains(node.Id)) return LoadOf(node, index, guard);
            var descriptor = Ops.Get(node.Op);
            switch (descriptor)
            {
                case PointwiseOp pointwise:
                    {
                        var args = node.Inputs.Select(i => Eval(i, Broadcast(_node(i).Shape, node.Shape, index), guard, onto && _node(i).Shape.Equals(node.Shape))).ToArray();
                        return pointwise.Build(this, args, node.Attributes);
                    }
                case ViewOp view:
                    return ComputeView(view, node, index, guard, onto);
                case ReductionOp reduction:
                    return ComputeReduction(reduction, node, index, guard, onto);
                default:
                    throw new LoweringException($"{Describe(node.Id)} ({descriptor.Class}) cannot be computed inside a generated kernel");
            }
        }

        private Val ComputeView(ViewOp view, LoweringNode node, IndexExpr[] index, IndexBound[] guard, bool onto)
        {
            if (_through.TryGetValue(node.Id, out var through) && through.Output == IndexKey(index)) return Eval(node.Inputs[0], through.Input, guard, onto);
            var shapes = node.Inputs.Select(i => _node(i).Shape.ToArray()).ToList();
            var read = view.Read(new ViewQuery(shapes, node.Shape.ToArray(), node.Attributes, index, _algebra));
            bool inputsOnto = onto && view.Bijective;
            if (read.Pieces.Count == 1 && read.Pieces[0].When.Length == 0)
                return Eval(node.Inputs[read.Pieces[0].Input], read.Pieces[0].Index, guard, inputsOnto);
            // Padding around a value read from memory (an im2col's zeros, a max pool's −∞): the load itself gives the padding
            // value where its bounds fail, so no select and no predicate of its own are left for a printer to evaluate.
            if (read.Pieces.Count == 1 && _node(node.Inputs[read.Pieces[0].Input]) is var padded
                && !_members.Contains(padded.Id) && padded.Op != Ops.Const.Name)
                return LoadOf(padded, read.Pieces[0].Index, guard.Concat(read.Pieces[0].When).ToArray(), read.Otherwise);
            // Pieces (concatenation) or padding: each piece loads only where its bounds hold; a select picks the one that does.
            var result = Const(read.Otherwise);
            for (int p = read.Pieces.Count - 1; p >= 0; p--)
            {
                var piece = read.Pieces[p];
                var inner = guard.Concat(piece.When).ToArray();
                var value = Eval(node.Inputs[piece.Input], piece.Index, inner, onto: false);
                result = piece.When.Length == 0 ? value : this.Where(Predicate(piece.When), value, result);
            }
            return result;
        }

        private Val ComputeReduction(ReductionOp reduction, LoweringNode node, IndexExpr[] index, IndexBound[] guard, bool onto)
        {
            var input = _node(node.Inputs[0]);
            int rank = input.Shape.Count;
            var axes = reduction.ReducedAxes(rank, node.Attributes);
            long extent = axes.Aggregate(1L, (p, a) => p * input.Shape[a].Value);
            IndexExpr[] inputIndex;
            if (reduction.KeepsShape)
            {
                if (axes.Length != 1) throw new LoweringException($"{Describe(node.Id)} normalizes over several axes");
                int axis = axes[0];
                int variable = index[axis].AsVariable;
                if (variable < 0 || index.Where((_, i) => i != axis).Any(e => e.Uses(variable)))
                    throw new LoweringException($"{Describe(node.Id)} is read through a layout that moves its normalized axis");
                BindReduction(variable, extent, node.Id);
                inputIndex = index;
            }
            else
            {
                bool keep = node.Attributes.IntOr("keepDim", 0) != 0;
                var kept = new List<IndexExpr>();
                int at = 0;
                for (int a = 0; a < rank; a++)
                {
                    if (axes.Contains(a))
                    {
                        if (keep) at++;
                        continue;
                    }
                    kept.Add(index[at++]);
                }
                int variable = ChooseReductionVariable(kept, extent, node.Id);
                inputIndex = new IndexExpr[rank];
                var r = IndexExpr.Var(variable);
                long inner = 1;
                for (int k = axes.Length - 1; k >= 0; k--)
                {
                    long size = input.Shape[axes[k]].Value;
                    inputIndex[axes[k]] = k == 0 ? _algebra.Div(r, inner) : _algebra.Mod(_algebra.Div(r, inner), size);
                    inner *= size;
                }
                int next = 0;
                for (int a = 0; a < rank; a++)
                    if (!axes.Contains(a)) inputIndex[a] = kept[next++];
                onto = false;
            }
            var args = node.Inputs.Select(i => Eval(i, Broadcast(_node(i).Shape, input.Shape, inputIndex), guard,
                onto && _node(i).Shape.Equals(input.Shape))).ToArray();
            return reduction.Build(this, args, node.Attributes, extent);
        }

        /// <summary>The reduction variable for a reduction whose result is read at <paramref name="kept"/>: the kernel's, a free domain axis of the same extent, or a new one.</summary>
        private int ChooseReductionVariable(List<IndexExpr> kept, long extent, int id)
        {
            bool Free(int v) => v < _extents.Count && !_extents[v].Dynamic && _extents[v].Value == extent && !kept.Any(e => e.Uses(v));
            if (_reduceVar >= 0)
            {
                if (_reduceExtent == extent && !kept.Any(e => e.Uses(_reduceVar))) return _reduceVar;
                throw new LoweringException($"{Describe(id)} reduces over another axis than the kernel's other reduction");
            }
            for (int v = _extents.Count - 1; v >= 0; v--)
            {
                if (!Free(v)) continue;
                BindReduction(v, extent, id);
                return v;
            }
            int fresh = _extents.Count;
            _extents.Add(Dim.Static(extent));
            BindReduction(fresh, extent, id);
            return fresh;
        }

        private void BindReduction(int variable, long extent, int id)
        {
            if (_reduceVar < 0)
            {
                if (variable < _extents.Count && _extents[variable] != Dim.Static(extent))
                    throw new LoweringException($"{Describe(id)} reduces {extent} elements along an axis of {_extents[variable]}");
                _reduceVar = variable;
                _reduceExtent = extent;
                return;
            }
            if (_reduceVar != variable || _reduceExtent != extent)
                throw new LoweringException($"{Describe(id)} reduces over another axis than the kernel's other reduction");
        }

        /// <summary>The index of an operand of shape <paramref name="shape"/> broadcast to <paramref name="outShape"/> at <paramref name="index"/>.</summary>
        private static IndexExpr[] Broadcast(EquatableArray<Dim> shape, IReadOnlyList<Dim> outShape, IndexExpr[] index)
        {
            int shift = outShape.Count - shape.Count;
            var result = new IndexExpr[shape.Count];
            for (int i = 0; i < shape.Count; i++) result[i] = shape[i] == Dim.One && outShape[i + shift] != Dim.One ? IndexExpr.Zero : index[i + shift];
            return result;
        }

        /// <summary>A load of <paramref name="node"/> at <paramref name="index"/>, <paramref name="otherwise"/> where a guard fails.</summary>
        private Val LoadOf(LoweringNode node, IndexExpr[] index, IndexBound[] guard, double otherwise = 0)
        {
            int buffer = _inputNodes.IndexOf(node.Id);
            if (buffer < 0)
            {
                buffer = _inputNodes.Count;
                _inputNodes.Add(node.Id);
                bool accumulator = node.Id == _accumulator;
                string name = accumulator ? "acc" : _bufferName?.Invoke(node.Id) ?? "in" + buffer;
                _inputBuffers.Add(new KernelBuffer(name, accumulator ? BufferRole.Accumulator : BufferRole.Input, node.Type, node.Shape));
            }
            var offset = Layout.Offset(index, node.Shape, _algebra);
            return Add($"load {buffer} {offset} {GuardKey(guard)} else {LoopIrText.Number(otherwise)}", id => new LoadInstr(id, buffer, offset, guard.ToEquatableArray(), otherwise));
        }

        private Val Predicate(IndexBound[] bounds) =>
            Add("inside " + GuardKey(bounds), id => new PredicateInstr(id, bounds.ToEquatableArray()));

        public Val Const(double value) => Add("const " + LoopIrText.Number(value), id => new ConstInstr(id, value));

        public Val Op(ScalarOp op, params Val[] args)
        {
            if (args.Length != ScalarOps.Arity(op)) throw new ArgumentException($"{op} takes {ScalarOps.Arity(op)} operands");
            return Add(ScalarOps.Name(op) + " " + string.Join(" ", args.Select(a => a.Id)), id => new OpInstr(id, op, args.Select(a => a.Id).ToEquatableArray()));
        }

        public Val Reduce(ReduceKind kind, Val value)
        {
            if (_reduceVar < 0) throw new LoweringException("a reduction outside a reduction's lowering");
            return Add("reduce " + kind + " " + value.Id, id => new ReduceInstr(id, kind, value.Id));
        }

        private Val Add(string key, Func<int, Instr> make)
        {
            if (_shared.TryGetValue(key, out var existing)) return new Val(existing);
            int id = _body.Count;
            _body.Add(make(id));
            _shared[key] = id;
            return new Val(id);
        }

        private HashSet<int> PerElementValues()
        {
            var per = new HashSet<int>();
            if (_reduceVar < 0) return per;
            foreach (var instr in _body)
            {
                bool p = instr switch
                {
                    LoadInstr l => l.Offset.Uses(_reduceVar) || l.Guard.Any(g => g.Expr.Uses(_reduceVar)),
                    PredicateInstr q => q.Bounds.Any(g => g.Expr.Uses(_reduceVar)),
                    OpInstr o => o.Args.Any(per.Contains),
                    _ => false,
                };
                if (p) per.Add(instr.Id);
            }
            return per;
        }

        private static string GuardKey(IEnumerable<IndexBound> guard) => string.Join(";", guard.Select(g => $"{g.Lo}<={g.Expr}<{g.Hi}"));

        private string Describe(int id)
        {
            var n = _node(id);
            return $"{n.Op} {Dims.Text(n.Shape)}";
        }
    }
}
