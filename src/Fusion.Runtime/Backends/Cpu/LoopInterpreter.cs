using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fusion.Compiler;
using Fusion.Kernels.Cpu;

namespace Fusion;

/// <summary>
/// Runs a kernel of the loop IR on the CPU: the CPU twin of every generated kernel, and of every operator a descriptor lowers
/// (the eager path). The kernel is walked row by row (a row: one point of every variable but the innermost, or the reduction
/// variable when there is one), rows spread over cores. Within a row each instruction is evaluated for the whole row at once
/// (a span of float32 values) or once (a value that does not vary along it); loads whose address moves one element at a time
/// along the row are copied as a block, others gathered. A reduction along a strided axis (the GPU printers' strided mapping: a
/// depthwise convolution's or a pooling's taps, a mean over tokens) is walked the other way round, as the GPU thread walks it: a row
/// runs along the innermost output variable (channels, contiguous) and the reduced axis is a loop of steps inside it, each step
/// evaluated for the whole row and combined into the row's accumulators, so a 7×7 depthwise convolution is 49 vector steps over
/// the channels of each pixel, not one 49-element row per channel. Loads convert to float32 and stores round to each buffer's type
/// once, as the printed kernels do.
/// </summary>
internal static unsafe class LoopInterpreter
{
    /// <summary>
    /// The kernel's outputs for <paramref name="inputs"/> (input and accumulator buffers, in order), a batch of <paramref name="batch"/>
    /// and the run's input/output type <paramref name="io"/>. Operands are checked by the caller.
    /// </summary>
    public static CpuTensor[] Run(LoopKernel kernel, long batch, DType io, IReadOnlyList<CpuTensor> inputs)
    {
        var buffers = kernel.Buffers;
        var outputs = new List<CpuTensor>();
        var accumulated = kernel.AccumulatedBuffers.ToHashSet();
        var data = new float[]?[buffers.Count];
        var pins = new List<GCHandle>();
        var pointers = new IntPtr[buffers.Count];
        try
        {
            int next = 0;
            for (int b = 0; b < buffers.Count; b++)
            {
                if (buffers[b].Role == BufferRole.Output)
                {
                    var type = Resolve(buffers[b].Type, io);
                    var shape = new Shape(buffers[b].Shape.Select(d => checked((int)d.At(batch))).ToArray());
                    // Every point of the domain stores, so all elements are written; an accumulated buffer (float32) is added into from zero.
                    var tensor = accumulated.Contains(b) ? CpuTensor.Zeros(type, shape) : CpuTensor.Uninitialized(type, shape);
                    outputs.Add(tensor);
                    data[b] = type == DType.Float32 ? null : ArrayPool<float>.Shared.Rent(checked((int)tensor.ElementCount));
                    pointers[b] = Pin(pins, data[b] ?? (object)tensor, tensor);
                }
                else
                {
                    var tensor = inputs[next++];
                    if (tensor.DType != DType.Float32)
                    {
                        data[b] = ArrayPool<float>.Shared.Rent(checked((int)tensor.ElementCount));
                        ToFloats(tensor, data[b].AsSpan(0, (int)tensor.ElementCount));
                    }
                    pointers[b] = Pin(pins, data[b] ?? (object)tensor, tensor);
                }
            }
            Execute(kernel, batch, pointers);
            int o = 0;
            for (int b = 0; b < buffers.Count; b++)
            {
                if (buffers[b].Role != BufferRole.Output) continue;
                var tensor = outputs[o++];
                if (data[b] is { } values) FromFloats(values.AsSpan(0, (int)tensor.ElementCount), tensor);
            }
            return outputs.ToArray();
        }
        catch
        {
            foreach (var t in outputs) t.Dispose();
            throw;
        }
        finally
        {
            foreach (var pin in pins) pin.Free();
            foreach (var array in data)
                if (array is not null) ArrayPool<float>.Shared.Return(array);
        }
    }

    public static DType Resolve(FloatType type, DType io) => type switch
    {
        FloatType.F16 => DType.Float16,
        FloatType.F32 => DType.Float32,
        FloatType.I8 => DType.Int8,
        FloatType.F8 => DType.Float8E4M3,
        _ => io,
    };

    /// <summary>A float16, int8 or FP8 input as float32 (int8 and FP8 codes are exact).</summary>
    private static void ToFloats(CpuTensor tensor, Span<float> values)
    {
        switch (tensor.DType)
        {
            case DType.Float16: TensorPrimitives.ConvertToSingle(tensor.Span<Half>(), values); break;
            case DType.Int8:
                {
                    var codes = tensor.Span<sbyte>();
                    for (int i = 0; i < codes.Length; i++) values[i] = codes[i];
                    break;
                }
            case DType.Float8E4M3: Fusion.Quantization.Float8E4M3.Decode(tensor.Span<byte>(), values); break;
            default: throw new FusionException($"a generated kernel reads {tensor.DType.ShortName()}, which the CPU loop interpreter does not convert");
        }
    }

    /// <summary>
    /// Rounds float32 results once into an f16, int8 or FP8 output (int8: half to even, saturated to ±127; FP8: E4M3, ties to even,
    /// saturated to ±448; as the GPU's stores).
    /// </summary>
    private static void FromFloats(ReadOnlySpan<float> values, CpuTensor tensor)
    {
        if (tensor.DType == DType.Float16)
        {
            TensorPrimitives.ConvertToHalf(values, tensor.Span<Half>());
            return;
        }
        if (tensor.DType == DType.Float8E4M3)
        {
            Fusion.Quantization.Float8E4M3.Quantize(values, 1f, tensor.Span<byte>()); // × 1 is exact: the codes of the values
            return;
        }
        var codes = tensor.Span<sbyte>();
        for (int i = 0; i < codes.Length; i++) codes[i] = (sbyte)ScalarMath.RoundI8(values[i]);
    }

    /// <summary>Pins a float32 array, or a float32 tensor's storage, for the workers.</summary>
    private static IntPtr Pin(List<GCHandle> pins, object owner, CpuTensor tensor)
    {
        if (owner is float[] array)
        {
            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            pins.Add(handle);
            return handle.AddrOfPinnedObject();
        }
        var bytes = tensor.RawStorage;
        var h = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        pins.Add(h);
        return h.AddrOfPinnedObject();
    }

    private static void Execute(LoopKernel kernel, long batch, IntPtr[] pointers)
    {
        var plan = new RowPlan(kernel, batch);
        long rows = plan.Rows(batch);
        if (rows == 0 || plan.Length == 0) return;
        int chunk = (int)Math.Max(1, Math.Min(rows, 4096 / Math.Max(1, plan.Length)));
        long blocks = (rows + chunk - 1) / chunk;
        if (blocks > int.MaxValue) throw new FusionException($"{kernel.Name}: {rows} rows are more than the CPU backend walks in one call");
        Parallelism.For((int)blocks, (long)chunk * plan.Length * plan.Steps * Math.Max(1, kernel.Body.Count), (start, end) =>
        {
            using var state = new RowState(plan, pointers, batch);
            for (long block = start; block < end; block++)
            {
                long last = Math.Min(rows, (block + 1) * chunk);
                for (long row = block * chunk; row < last; row++) state.Run(row);
            }
        });
    }

    /// <summary>What is known about a kernel before any row runs: the row variable, which values vary along it, how loads move.</summary>
    private sealed class RowPlan
    {
        public RowPlan(LoopKernel kernel, long batch)
        {
            Kernel = kernel;
            Walk = s_walks.GetValue(kernel, k => new Boxed(StridedWalk.Of(k))).Walk;
            Inner = Strided ? KernelMapping.OutputVariable(kernel) : kernel.HasReduction ? kernel.ReduceVar : kernel.Domain.Count - 1;
            var extents = kernel.VariableExtents;
            Length = Inner < 0 ? 1 : checked((int)extents[Inner].At(batch));
            Steps = Strided ? checked((int)kernel.ReduceExtent) : 1;
            RowVars = Enumerable.Range(0, kernel.Domain.Count).Where(v => v != Inner && !(Strided && v == kernel.ReduceVar)).ToArray();
            Variables = extents.Count;
            PerElement = new bool[kernel.Body.Count];
            Linear = new bool[kernel.Body.Count];
            Split = new SplitOffset?[kernel.Body.Count];
            GuardMoves = kernel.Body.Select(i => i is LoadInstr l && Inner >= 0 && l.Guard.Any(g => g.Expr.Uses(Inner))).ToArray();
            BoundSplits = new SplitOffset[]?[kernel.Body.Count];
            Runs = new int[]?[kernel.Body.Count];
            foreach (var instr in kernel.Body)
            {
                PerElement[instr.Id] = Inner >= 0 && instr switch
                {
                    LoadInstr l => l.Offset.Uses(Inner) || l.Guard.Any(g => g.Expr.Uses(Inner)),
                    PredicateInstr p => p.Bounds.Any(g => g.Expr.Uses(Inner)),
                    OpInstr o => o.Args.Any(a => PerElement[a]),
                    StoreInstr s => s.Offset.Uses(Inner),
                    // A strided walk's accumulators span the row where their operand does.
                    ReduceInstr red => Strided && PerElement[red.Arg],
                    _ => false,
                };
                // A guard that does not move along the row (a convolution's padding, per pixel) is checked once for the whole block.
                var offset = instr switch { LoadInstr l when !l.Guard.Any(g => g.Expr.Uses(Inner)) => l.Offset, StoreInstr s => s.Offset, _ => null };
                Linear[instr.Id] = offset is not null && Inner >= 0 && StepsByOne(offset, Inner);
                var any = instr switch { LoadInstr l => l.Offset, StoreInstr s => s.Offset, _ => null };
                if (any is not null && PerElement[instr.Id] && !Linear[instr.Id]) Split[instr.Id] = SplitOffset.Of(any, Inner, Variables, Length, batch);
                var bounds = instr switch { LoadInstr l when GuardMoves[l.Id] => l.Guard, PredicateInstr p when PerElement[p.Id] => p.Bounds, _ => default };
                if (bounds.Count > 0)
                {
                    var splits = bounds.Select(b => SplitOffset.Of(b.Expr, Inner, Variables, Length, batch)).ToArray();
                    if (splits.All(x => x is not null)) BoundSplits[instr.Id] = splits!;
                }
                // Only a gather whose guard moves along the row is copied by runs (an unguarded gather, or one guarded per row, is gathered as before).
                if (Split[instr.Id] is { } gathered && BoundSplits[instr.Id] is { } moving && GuardMoves[instr.Id]) Runs[instr.Id] = RunsOf(gathered.Inner, moving);
            }
            (SameAs, Skipped) = GuardedSelects(kernel.Body);
        }

        /// <summary>
        /// For each select of the form where(inside B, load … when B else v, v) (a padded window's gather as lowering writes it: the
        /// load is guarded by the very bounds the select tests, and its padding value is the select's other operand), the load's id:
        /// the select's value is the load's. Else -1.
        /// </summary>
        public int[] SameAs { get; }

        /// <summary>Predicates only such selects read: never evaluated (an im2col row spent most of its time on them, element by element).</summary>
        public bool[] Skipped { get; }

        private static (int[] SameAs, bool[] Skipped) GuardedSelects(EquatableArray<Instr> body)
        {
            var sameAs = Enumerable.Repeat(-1, body.Count).ToArray();
            var readers = new int[body.Count];
            var aliasReaders = new int[body.Count];
            foreach (var instr in body)
            {
                IEnumerable<int> args = instr switch { OpInstr o => o.Args, ReduceInstr r => [r.Arg], StoreInstr st => [st.Value], _ => [] };
                foreach (int a in args) readers[a]++;
                if (instr is OpInstr { Op: ScalarOp.Where, Args: [var p, var l, var c] } && body[p] is PredicateInstr predicate && body[l] is LoadInstr load
                    && body[c] is ConstInstr padding && load.Guard.Equals(predicate.Bounds) && load.Otherwise == padding.Value)
                {
                    sameAs[instr.Id] = l;
                    aliasReaders[p]++;
                }
            }
            var skipped = body.Select(i => i is PredicateInstr && readers[i.Id] > 0 && readers[i.Id] == aliasReaders[i.Id]).ToArray();
            return (sameAs, skipped);
        }

        /// <summary>The reduction is walked as <see cref="Steps"/> steps inside each row (see <see cref="Walk"/>).</summary>
        public bool Strided => Walk is not null;

        /// <summary>Steps of a strided walk per row (the reduced extent), 1 otherwise.</summary>
        public int Steps { get; }

        /// <summary>A strided walk's instructions in the order a row runs them; null for other kernels.</summary>
        public StridedWalk? Walk { get; }

        /// <summary>Each kernel's walk (or none), worked out once: the mapping decision costs more than a small kernel's run.</summary>
        private static readonly ConditionalWeakTable<LoopKernel, Boxed> s_walks = new();

        private sealed record Boxed(StridedWalk? Walk);

        /// <summary>
        /// Gathers and scatters whose offset is a sum of terms of the row variable alone and terms of the others (window
        /// partitions, patch merging, rolls): the row variable's part, one offset per element, worked out once per call
        /// instead of once per element of every row.
        /// </summary>
        public SplitOffset?[] Split { get; }

        public LoopKernel Kernel { get; }

        /// <summary>The variable a row runs along (-1 for a kernel without variables).</summary>
        public int Inner { get; }

        public int Length { get; }

        public int[] RowVars { get; }

        public int Variables { get; }

        public bool[] PerElement { get; }

        /// <summary>Loads whose guard moves along the row (checked per element); others check it once a row.</summary>
        public bool[] GuardMoves { get; }

        /// <summary>
        /// A gathered load's runs, where its guard moves along the row and splits: the first element of each stretch of the row whose
        /// addresses are consecutive and whose guard does not change, then the row's length; copied a stretch at a time (an im2col row
        /// is a run of channels per tap). Null elsewhere, and where the stretches would average under four elements.
        /// </summary>
        public int[]?[] Runs { get; }

        private static int[]? RunsOf(long[] offsets, SplitOffset[] guards)
        {
            var starts = new List<int> { 0 };
            for (int e = 1; e < offsets.Length; e++)
                if (offsets[e] != offsets[e - 1] + 1 || guards.Any(g => g.Inner[e] != g.Inner[e - 1])) starts.Add(e);
            if (starts.Count * 4 > offsets.Length) return null;
            starts.Add(offsets.Length);
            return starts.ToArray();
        }

        /// <summary>
        /// The bounds of a load's moving guard or of a moving predicate, each split as its offset would be (a window's tap along the
        /// row, the pixel per row: an im2col gather's padding), so a row checks them with one add per bound and element; null where a
        /// bound mixes the row variable with another.
        /// </summary>
        public SplitOffset[]?[] BoundSplits { get; }

        /// <summary>Accesses whose address is base + the row variable (copied as one block).</summary>
        public bool[] Linear { get; }

        public long Rows(long batch) => RowVars.Aggregate(1L, (p, v) => p * Kernel.Domain[v].At(batch));

        /// <summary>
        /// A strided walk's instructions: <see cref="Before"/> the walk (values that change neither with the step nor after a reduction),
        /// each step's (<see cref="Steps"/>, whose values change from step to step), the <see cref="Reductions"/> they accumulate, and
        /// <see cref="After"/> the walk (what the reductions feed, and every store).
        /// </summary>
        public sealed record StridedWalk(Instr[] Before, Instr[] Steps, ReduceInstr[] Reductions, Instr[] After)
        {
            /// <summary>
            /// The walk of a reduction along a strided axis (<see cref="MappingKind.Strided"/>, as the GPU printers map it) that a row can
            /// walk as steps, or null: every reduction over values of the walk alone (none reduces another's result, none is fed a
            /// changing value after one) and no store per step.
            /// </summary>
            public static StridedWalk? Of(LoopKernel kernel)
            {
                if (!kernel.HasReduction || KernelMapping.OutputVariable(kernel) < 0 || KernelMapping.Of(kernel).Kind != MappingKind.Strided) return null;
                var along = LoopAnalysis.PerElement(kernel);
                var phase = LoopAnalysis.Phase(kernel);
                var body = kernel.Body;
                if (body.OfType<ReduceInstr>().Any(red => phase[red.Id] != 1) || body.OfType<StoreInstr>().Any(st => st.Offset.Uses(kernel.ReduceVar))
                    || body.Any(i => along[i.Id] && phase[i.Id] > 0))
                    return null;
                return new StridedWalk(
                    body.Where(i => !along[i.Id] && phase[i.Id] == 0 && i is not (StoreInstr or ReduceInstr)).ToArray(),
                    body.Where(i => along[i.Id] && i is not StoreInstr).ToArray(),
                    body.OfType<ReduceInstr>().ToArray(),
                    body.Where(i => (phase[i.Id] > 0 && i is not ReduceInstr) || i is StoreInstr).ToArray());
            }
        }

        /// <summary>An offset = <see cref="Outer"/> (evaluated per row) + <see cref="Inner"/>[element].</summary>
        public sealed record SplitOffset(IndexExpr Outer, long[] Inner)
        {
            /// <summary>The split of <paramref name="offset"/> along <paramref name="inner"/>, or null when a term mixes it with another variable.</summary>
            public static SplitOffset? Of(IndexExpr offset, int inner, int variables, int length, long batch)
            {
                var mine = new List<IndexTerm>();
                var rest = new List<IndexTerm>();
                foreach (var term in offset.Terms)
                {
                    bool Uses(int variable) => term.Factors.Any(f => f.Uses(variable));
                    if (!Uses(inner)) rest.Add(term);
                    else if (Enumerable.Range(0, variables).All(v => v == inner || !Uses(v))) mine.Add(term);
                    else return null;
                }
                var own = new IndexExpr(0, new EquatableArray<IndexTerm>(mine.ToArray()));
                var point = new long[variables];
                var offsets = new long[length];
                for (int e = 0; e < length; e++)
                {
                    point[inner] = e;
                    offsets[e] = IndexEval.Evaluate(own, point, batch);
                }
                return new SplitOffset(new IndexExpr(offset.Constant, new EquatableArray<IndexTerm>(rest.ToArray())), offsets);
            }
        }

        private static bool StepsByOne(IndexExpr offset, int variable) =>
            offset.Terms.Where(t => t.Factors.Any(f => f.Uses(variable))).ToList() is [{ Coef: 1, Factors: [{ Kind: IndexAtomKind.Var }] }];
    }

    /// <summary>One worker's scratch: a row's values (pooled arrays, given back on dispose) and variables.</summary>
    private sealed class RowState : IDisposable
    {
        private readonly RowPlan _plan;
        private readonly float*[] _buffers;
        private readonly long _batch;
        private readonly float[][] _rowValues;
        private readonly float[][] _rented;
        private readonly float[] _scalars;
        private readonly long[] _vars;

        public RowState(RowPlan plan, IntPtr[] pointers, long batch)
        {
            _plan = plan;
            _buffers = new float*[pointers.Length];
            for (int i = 0; i < pointers.Length; i++) _buffers[i] = (float*)pointers[i];
            _batch = batch;
            var body = plan.Kernel.Body;
            // Pooled: every chunk of every kernel of a pass makes one of these, and on many cores fresh arrays were tens of MB a pass.
            _rowValues = body.Select(i => plan.PerElement[i.Id] && i is not StoreInstr ? ArrayPool<float>.Shared.Rent(plan.Length) : Array.Empty<float>()).ToArray();
            _rented = _rowValues.Where(v => v.Length > 0).ToArray();
            _scalars = new float[body.Count];
            _vars = new long[plan.Variables];
        }

        public void Run(long row)
        {
            var k = _plan.Kernel;
            long rest = row;
            for (int i = _plan.RowVars.Length - 1; i >= 0; i--)
            {
                int v = _plan.RowVars[i];
                long extent = k.Domain[v].At(_batch);
                _vars[v] = i == 0 ? rest : rest % extent;
                rest = i == 0 ? 0 : rest / extent;
            }
            int inner = _plan.Inner, n = _plan.Length;
            if (_plan.Strided)
            {
                WalkStrided(inner, n);
                return;
            }
            foreach (var instr in k.Body) Evaluate(instr, inner, n);
        }

        /// <summary>
        /// One row of a strided walk: the values that change neither with the step nor after a reduction, then the reductions'
        /// accumulators over every step (each step's values evaluated for the whole row), then what follows them and the stores.
        /// </summary>
        private void WalkStrided(int inner, int n)
        {
            var walk = _plan.Walk!;
            foreach (var instr in walk.Before) Evaluate(instr, inner, n);
            foreach (var red in walk.Reductions)
            {
                float start = red.Kind switch { ReduceKind.Sum => 0f, ReduceKind.Max => float.NegativeInfinity, _ => float.PositiveInfinity };
                if (_plan.PerElement[red.Id]) _rowValues[red.Id].AsSpan(0, n).Fill(start);
                else _scalars[red.Id] = start;
            }
            int variable = _plan.Kernel.ReduceVar;
            for (int step = 0; step < _plan.Steps; step++)
            {
                _vars[variable] = step;
                foreach (var instr in walk.Steps) Evaluate(instr, inner, n);
                foreach (var red in walk.Reductions) Accumulate(red, n);
            }
            foreach (var instr in walk.After) Evaluate(instr, inner, n);
        }

        /// <summary>Combines one step's value of a reduction's operand into its accumulator (the row's, or the one scalar).</summary>
        private void Accumulate(ReduceInstr red, int n)
        {
            if (!_plan.PerElement[red.Id])
            {
                float v = _plan.PerElement[red.Arg] ? throw new InvalidOperationException("a scalar accumulator of a varying value") : _scalars[red.Arg];
                _scalars[red.Id] = red.Kind switch { ReduceKind.Sum => _scalars[red.Id] + v, ReduceKind.Max => MathF.Max(_scalars[red.Id], v), _ => MathF.Min(_scalars[red.Id], v) };
                return;
            }
            var acc = _rowValues[red.Id].AsSpan(0, n);
            var x = _rowValues[red.Arg].AsSpan(0, n);
            switch (red.Kind)
            {
                case ReduceKind.Sum: TensorPrimitives.Add(acc, x, acc); break;
                case ReduceKind.Max: TensorPrimitives.Max(acc, x, acc); break;
                default: TensorPrimitives.Min(acc, x, acc); break;
            }
        }

        /// <summary>One instruction for the whole row (or once, for a value that does not vary along it).</summary>
        private void Evaluate(Instr instr, int inner, int n)
        {
            bool per = _plan.PerElement[instr.Id];
            switch (instr)
            {
                case ConstInstr c:
                    _scalars[c.Id] = (float)c.Value;
                    break;
                case LoadInstr l:
                    Load(l, per, inner, n);
                    break;
                case PredicateInstr p when _plan.Skipped[p.Id]:
                    break;
                case PredicateInstr p:
                    if (!per) _scalars[p.Id] = Inside(p.Bounds) ? 1f : 0f;
                    else if (_plan.BoundSplits[p.Id] is { } split) SplitPredicate(p, split, n);
                    else
                    {
                        var values = _rowValues[p.Id];
                        for (int e = 0; e < n; e++)
                        {
                            _vars[inner] = e;
                            values[e] = Inside(p.Bounds) ? 1f : 0f;
                        }
                    }
                    break;
                case OpInstr op when _plan.SameAs[op.Id] is >= 0 and var load:
                    if (!per) _scalars[op.Id] = _scalars[load];
                    else if (_plan.PerElement[load]) _rowValues[load].AsSpan(0, n).CopyTo(_rowValues[op.Id]);
                    else _rowValues[op.Id].AsSpan(0, n).Fill(_scalars[load]);
                    break;
                case OpInstr op:
                    Compute(op, per, n);
                    break;
                case ReduceInstr red:
                    _scalars[red.Id] = Reduce(red, n);
                    break;
                case StoreInstr st:
                    Store(st, per, inner, n);
                    break;
            }
        }

        private void Load(LoadInstr l, bool per, int inner, int n)
        {
            float* source = _buffers[l.Buffer];
            if (!per)
            {
                _scalars[l.Id] = l.Guard.Count == 0 || Inside(l.Guard) ? source[IndexEval.Evaluate(l.Offset, _vars, _batch)] : (float)l.Otherwise;
                return;
            }
            var values = _rowValues[l.Id];
            if (_plan.Linear[l.Id])
            {
                _vars[inner] = 0;
                // Its guard (if any) does not move along the row: the whole block is inside, or all of it is the padding value.
                if (l.Guard.Count > 0 && !Inside(l.Guard)) values.AsSpan(0, n).Fill((float)l.Otherwise);
                else new ReadOnlySpan<float>(source + IndexEval.Evaluate(l.Offset, _vars, _batch), n).CopyTo(values);
                return;
            }
            if (_plan.Split[l.Id] is { } split)
            {
                float* row = source + IndexEval.Evaluate(split.Outer, _vars, _batch);
                var offsets = split.Inner;
                if (l.Guard.Count == 0 || !_plan.GuardMoves[l.Id])
                {
                    if (l.Guard.Count > 0 && !Inside(l.Guard)) values.AsSpan(0, n).Fill((float)l.Otherwise);
                    else for (int e = 0; e < n; e++) values[e] = row[offsets[e]];
                    return;
                }
                if (_plan.Runs[l.Id] is { } runs)
                {
                    LoadRuns(l, row, offsets, runs, values);
                    return;
                }
                if (_plan.BoundSplits[l.Id] is { } guards)
                {
                    LoadSplitGuarded(l, row, offsets, guards, values, n);
                    return;
                }
                for (int e = 0; e < n; e++)
                {
                    _vars[inner] = e;
                    values[e] = Inside(l.Guard) ? row[offsets[e]] : (float)l.Otherwise;
                }
                return;
            }
            for (int e = 0; e < n; e++)
            {
                _vars[inner] = e;
                values[e] = l.Guard.Count == 0 || Inside(l.Guard) ? source[IndexEval.Evaluate(l.Offset, _vars, _batch)] : (float)l.Otherwise;
            }
        }

        private void Store(StoreInstr st, bool per, int inner, int n)
        {
            float* target = _buffers[st.Buffer];
            if (st.Accumulate)
            {
                // Rows run on several cores and may add into one element (the rows of one image into its pooled value).
                for (int e = 0; e < (per ? n : 1); e++)
                {
                    if (per) _vars[inner] = e;
                    AtomicAdd(target + IndexEval.Evaluate(st.Offset, _vars, _batch), per && _plan.PerElement[st.Value] ? _rowValues[st.Value][e] : Scalar(st.Value));
                }
                return;
            }
            if (!per)
            {
                // A row store writes once; a value that varies along the row is never stored per row (the lowering checks).
                target[IndexEval.Evaluate(st.Offset, _vars, _batch)] = Scalar(st.Value);
                return;
            }
            bool varying = _plan.PerElement[st.Value];
            if (_plan.Linear[st.Id] && varying)
            {
                _vars[inner] = 0;
                _rowValues[st.Value].AsSpan(0, n).CopyTo(new Span<float>(target + IndexEval.Evaluate(st.Offset, _vars, _batch), n));
                return;
            }
            if (_plan.Split[st.Id] is { } split)
            {
                float* row = target + IndexEval.Evaluate(split.Outer, _vars, _batch);
                var offsets = split.Inner;
                if (varying)
                {
                    var values = _rowValues[st.Value];
                    for (int e = 0; e < n; e++) row[offsets[e]] = values[e];
                }
                else
                {
                    float value = Scalar(st.Value);
                    for (int e = 0; e < n; e++) row[offsets[e]] = value;
                }
                return;
            }
            for (int e = 0; e < n; e++)
            {
                _vars[inner] = e;
                target[IndexEval.Evaluate(st.Offset, _vars, _batch)] = varying ? _rowValues[st.Value][e] : Scalar(st.Value);
            }
        }

        private float Scalar(int id) => _scalars[id];

        /// <summary>*p += v for float32, safe against other workers adding into the same element (compare-and-swap on its bits).</summary>
        private static void AtomicAdd(float* p, float v)
        {
            ref int bits = ref *(int*)p;
            int seen = Volatile.Read(ref bits);
            while (true)
            {
                int sum = BitConverter.SingleToInt32Bits(BitConverter.Int32BitsToSingle(seen) + v);
                int was = Interlocked.CompareExchange(ref bits, sum, seen);
                if (was == seen) return;
                seen = was;
            }
        }

        public void Dispose()
        {
            foreach (var values in _rented) ArrayPool<float>.Shared.Return(values);
        }

        /// <summary>Rounds a row to float16 and back (what an f16 store then load would give), through the vector conversions.</summary>
        private static void RoundToHalf(ReadOnlySpan<float> x, Span<float> y)
        {
            var halves = ArrayPool<Half>.Shared.Rent(x.Length);
            try
            {
                TensorPrimitives.ConvertToHalf(x, halves.AsSpan(0, x.Length));
                TensorPrimitives.ConvertToSingle(halves.AsSpan(0, x.Length), y);
            }
            finally
            {
                ArrayPool<Half>.Shared.Return(halves);
            }
        }

        /// <summary>A gathered load a run at a time: each run's guard checked once, then copied as a block or filled with the padding value.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void LoadRuns(LoadInstr l, float* row, long[] offsets, int[] runs, float[] values)
        {
            var guards = _plan.BoundSplits[l.Id]!;
            Span<long> outer = stackalloc long[guards.Length];
            RowParts(guards, outer);
            for (int i = 0; i + 1 < runs.Length; i++)
            {
                int start = runs[i], length = runs[i + 1] - start;
                var part = values.AsSpan(start, length);
                if (!Inside(l.Guard, guards, outer, start)) part.Fill((float)l.Otherwise);
                else new ReadOnlySpan<float>(row + offsets[start], length).CopyTo(part);
            }
        }

        /// <summary>A gathered load whose guard moves along the row, its bounds split: one add and compare per bound and element.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void LoadSplitGuarded(LoadInstr l, float* row, long[] offsets, RowPlan.SplitOffset[] guards, float[] values, int n)
        {
            Span<long> outer = stackalloc long[guards.Length];
            RowParts(guards, outer);
            float otherwise = (float)l.Otherwise;
            for (int e = 0; e < n; e++) values[e] = Inside(l.Guard, guards, outer, e) ? row[offsets[e]] : otherwise;
        }

        /// <summary>A predicate that moves along the row, its bounds split.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void SplitPredicate(PredicateInstr p, RowPlan.SplitOffset[] split, int n)
        {
            Span<long> outer = stackalloc long[split.Length];
            RowParts(split, outer);
            var values = _rowValues[p.Id];
            for (int e = 0; e < n; e++) values[e] = Inside(p.Bounds, split, outer, e) ? 1f : 0f;
        }

        /// <summary>Each split bound's part that does not move along the row, at this row.</summary>
        private void RowParts(RowPlan.SplitOffset[] splits, Span<long> outer)
        {
            for (int g = 0; g < splits.Length; g++) outer[g] = IndexEval.Evaluate(splits[g].Outer, _vars, _batch);
        }

        /// <summary>Whether element <paramref name="e"/> of the row is inside <paramref name="bounds"/>, split as <paramref name="splits"/> with this row's <paramref name="outer"/> parts.</summary>
        private static bool Inside(EquatableArray<IndexBound> bounds, RowPlan.SplitOffset[] splits, ReadOnlySpan<long> outer, int e)
        {
            for (int g = 0; g < splits.Length; g++)
            {
                long v = outer[g] + splits[g].Inner[e];
                if (v < bounds[g].Lo || v >= bounds[g].Hi) return false;
            }
            return true;
        }

        private bool Inside(EquatableArray<IndexBound> bounds)
        {
            foreach (var b in bounds)
            {
                long v = IndexEval.Evaluate(b.Expr, _vars, _batch);
                if (v < b.Lo || v >= b.Hi) return false;
            }
            return true;
        }

        private float Reduce(ReduceInstr red, int n)
        {
            if (!_plan.PerElement[red.Arg])
            {
                float v = _scalars[red.Arg];
                return red.Kind switch { ReduceKind.Sum => v * n, _ => v };
            }
            var values = _rowValues[red.Arg].AsSpan(0, n);
            return red.Kind switch
            {
                ReduceKind.Sum => TensorPrimitives.Sum<float>(values),
                ReduceKind.Max => TensorPrimitives.Max<float>(values),
                _ => TensorPrimitives.Min<float>(values),
            };
        }

        private void Compute(OpInstr op, bool per, int n)
        {
            var a = op.Args;
            if (!per)
            {
                _scalars[op.Id] = ScalarMath.Apply(op.Op, _scalars[a[0]], a.Count > 1 ? _scalars[a[1]] : 0f, a.Count > 2 ? _scalars[a[2]] : 0f);
                return;
            }
            var y = _rowValues[op.Id].AsSpan(0, n);
            ReadOnlySpan<float> Span(int i) => _rowValues[a[i]].AsSpan(0, n);
            bool P(int i) => _plan.PerElement[a[i]];
            if (op.Op == ScalarOp.Where)
            {
                if (!P(0))
                {
                    // One condition for the whole row (a window's tap in the padding or not): the chosen operand as it is.
                    int chosen = _scalars[a[0]] != 0 ? 1 : 2;
                    if (P(chosen)) Span(chosen).CopyTo(y);
                    else y.Fill(_scalars[a[chosen]]);
                    return;
                }
                if (P(1) && !P(2))
                {
                    // A padded gather's select: the loaded value inside, the padding value outside.
                    var condition = Span(0);
                    var inside = Span(1);
                    float outside = _scalars[a[2]];
                    for (int e = 0; e < n; e++) y[e] = condition[e] != 0 ? inside[e] : outside;
                    return;
                }
            }
            if (a.Count == 1)
            {
                var x = Span(0);
                switch (op.Op)
                {
                    case ScalarOp.Neg: TensorPrimitives.Negate(x, y); return;
                    case ScalarOp.Abs: TensorPrimitives.Abs(x, y); return;
                    case ScalarOp.Exp: TensorPrimitives.Exp(x, y); return;
                    case ScalarOp.Log: TensorPrimitives.Log(x, y); return;
                    case ScalarOp.Sqrt: TensorPrimitives.Sqrt(x, y); return;
                    case ScalarOp.Tanh: TensorPrimitives.Tanh(x, y); return;
                    case ScalarOp.Recip: TensorPrimitives.Reciprocal(x, y); return;
                    case ScalarOp.Rsqrt: TensorPrimitives.ReciprocalSqrt(x, y); return;
                    case ScalarOp.Erf: VectorMath.Erf(x, y); return;
                    case ScalarOp.RoundF16: RoundToHalf(x, y); return;
                    default:
                        for (int e = 0; e < n; e++) y[e] = ScalarMath.Apply(op.Op, x[e], 0f, 0f);
                        return;
                }
            }
            if (a.Count == 2 && P(0) && P(1))
            {
                var x0 = Span(0);
                var x1 = Span(1);
                switch (op.Op)
                {
                    case ScalarOp.Add: TensorPrimitives.Add(x0, x1, y); return;
                    case ScalarOp.Sub: TensorPrimitives.Subtract(x0, x1, y); return;
                    case ScalarOp.Mul: TensorPrimitives.Multiply(x0, x1, y); return;
                    case ScalarOp.Div: TensorPrimitives.Divide(x0, x1, y); return;
                    case ScalarOp.Max: TensorPrimitives.Max(x0, x1, y); return;
                    case ScalarOp.Min: TensorPrimitives.Min(x0, x1, y); return;
                }
            }
            else if (a.Count == 2 && P(0))
            {
                var x0 = Span(0);
                float s = _scalars[a[1]];
                switch (op.Op)
                {
                    case ScalarOp.Add: TensorPrimitives.Add(x0, s, y); return;
                    case ScalarOp.Sub: TensorPrimitives.Subtract(x0, s, y); return;
                    case ScalarOp.Mul: TensorPrimitives.Multiply(x0, s, y); return;
                    case ScalarOp.Div: TensorPrimitives.Divide(x0, s, y); return;
                    case ScalarOp.Max: TensorPrimitives.Max(x0, s, y); return;
                    case ScalarOp.Min: TensorPrimitives.Min(x0, s, y); return;
                }
            }
            else if (a.Count == 2 && P(1))
            {
                // A scalar on the left (1 + erf(…), 0.5 · x, 1 / (…)): the same span operations, operands swapped or in their own form.
                float s = _scalars[a[0]];
                var x1 = Span(1);
                switch (op.Op)
                {
                    case ScalarOp.Add: TensorPrimitives.Add(x1, s, y); return;
                    case ScalarOp.Sub: TensorPrimitives.Subtract(s, x1, y); return;
                    case ScalarOp.Mul: TensorPrimitives.Multiply(x1, s, y); return;
                    case ScalarOp.Div: TensorPrimitives.Divide(s, x1, y); return;
                    case ScalarOp.Max: TensorPrimitives.Max(x1, s, y); return;
                    case ScalarOp.Min: TensorPrimitives.Min(x1, s, y); return;
                }
            }
            for (int e = 0; e < n; e++)
            {
                float x0 = P(0) ? _rowValues[a[0]][e] : _scalars[a[0]];
                float x1 = a.Count > 1 ? (P(1) ? _rowValues[a[1]][e] : _scalars[a[1]]) : 0f;
                float x2 = a.Count > 2 ? (P(2) ? _rowValues[a[2]][e] : _scalars[a[2]]) : 0f;
                y[e] = ScalarMath.Apply(op.Op, x0, x1, x2);
            }
        }
    }
}

/// <summary>The scalar operations of the loop IR in float32 (the interpreter's element-by-element path).</summary>
internal static class ScalarMath
{
    /// <summary>The int8 code of a float: half to even, clamped to ±127, NaN to 0 (the kernels' int8 stores and casts).</summary>
    public static float RoundI8(float a) => float.IsNaN(a) ? 0f : Math.Clamp(MathF.Round(a, MidpointRounding.ToEven), -127f, 127f);

    /// <summary>The nearest FP8 E4M3 value of a float: ties to even, saturated to ±448, NaN stays NaN (the kernels' f8 stores and casts).</summary>
    public static float RoundF8(float a) => Fusion.Quantization.Float8E4M3.Decode(Fusion.Quantization.Float8E4M3.Encode(a));

    public static float Apply(ScalarOp op, float a, float b, float c) => op switch
    {
        ScalarOp.Add => a + b,
        ScalarOp.Sub => a - b,
        ScalarOp.Mul => a * b,
        ScalarOp.Div => a / b,
        ScalarOp.Max => MathF.Max(a, b),
        ScalarOp.Min => MathF.Min(a, b),
        ScalarOp.Pow => MathF.Pow(a, b),
        ScalarOp.Lt => a < b ? 1f : 0f,
        ScalarOp.Le => a <= b ? 1f : 0f,
        ScalarOp.Gt => a > b ? 1f : 0f,
        ScalarOp.Ge => a >= b ? 1f : 0f,
        ScalarOp.Eq => a == b ? 1f : 0f,
        ScalarOp.Ne => a != b ? 1f : 0f,
        ScalarOp.Neg => -a,
        ScalarOp.Abs => MathF.Abs(a),
        ScalarOp.Exp => MathF.Exp(a),
        ScalarOp.Log => MathF.Log(a),
        ScalarOp.Sqrt => MathF.Sqrt(a),
        ScalarOp.Rsqrt => 1f / MathF.Sqrt(a),
        ScalarOp.Tanh => MathF.Tanh(a),
        ScalarOp.Erf => (float)Fusion.Kernels.Cpu.Gelu.Erf(a),
        ScalarOp.Recip => 1f / a,
        ScalarOp.RoundF16 => (float)(Half)a,
        ScalarOp.RoundI8 => RoundI8(a),
        ScalarOp.RoundF8 => RoundF8(a),
        ScalarOp.Where => a != 0 ? b : c,
        _ => throw new InvalidOperationException($"no CPU evaluation of {op}"),
    };
}
