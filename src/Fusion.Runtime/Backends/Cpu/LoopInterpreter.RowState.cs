using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Fusion.Compiler;
using Fusion.Kernels.Cpu;

namespace Fusion;

internal static unsafe partial class LoopInterpreter
{
    /// <summary>
    /// One worker's scratch: a row's values (pooled arrays, given back on dispose) and variables. The per-row methods are compiled
    /// fully optimized at their first call (AggressiveOptimization): under tiered compilation they ran their first-tier code until
    /// the JIT's background thread got to them, 4.6× slower for a max pool (6.3 against 1.4 ms on one core), and on a host whose
    /// every core runs a spinning worker that thread can wait for seconds.
    /// </summary>
    private sealed partial class RowState : IDisposable
    {
        private readonly RowPlan _plan;
        private readonly float*[] _buffers;
        private readonly long _batch;
        private readonly float[][] _rowValues;

        /// <summary>
        /// Where a load's row values are read in place (a contiguous, in-bounds block of an input): its address; else null and the
        /// values are in <see cref="_rowValues"/>. Readers go through <see cref="Values"/> and <see cref="Value"/>.
        /// </summary>
        private readonly float*[] _views;

        /// <summary>Whose row array holds a value's row when it is not viewed: its own, or (a select giving back its load) the load's.</summary>
        private readonly int[] _holder;

        /// <summary>Buffers the kernel only reads, whose blocks a load may view in place.</summary>
        private readonly bool[] _readOnly;
        private readonly float[][] _rented;
        private readonly float[] _scalars;
        private readonly long[] _vars;
        private readonly long[] _stepRowOffsets;
        private readonly long[][] _stepRowGuards;

        public RowState(RowPlan plan, IntPtr[] pointers, long batch)
        {
            _plan = plan;
            _buffers = new float*[pointers.Length];
            for (int i = 0; i < pointers.Length; i++) _buffers[i] = (float*)pointers[i];
            _batch = batch;
            var body = plan.Kernel.Body;
            // Pooled: every chunk of every kernel of a pass makes one of these, and on many cores fresh arrays were tens of MB a pass.
            _rowValues = body.Select(i => plan.PerElement[i.Id] && i is not StoreInstr ? ArrayPool<float>.Shared.Rent(plan.RowElements) : Array.Empty<float>()).ToArray();
            _rented = _rowValues.Where(v => v.Length > 0).ToArray();
            _views = new float*[body.Count];
            _holder = Enumerable.Range(0, body.Count).ToArray();
            _readOnly = plan.Kernel.Buffers.Select(b => b.Role == BufferRole.Input).ToArray();
            _scalars = new float[body.Count];
            _vars = new long[plan.Variables];
            _stepRowOffsets = new long[body.Count];
            _stepRowGuards = plan.StepGuards.Select(g => g is null ? [] : new long[g.Length]).ToArray();
            if (plan.Wide is not null)
            {
                _segmentBase = new float*[body.Count];
                _segmentRange = new (int, int)[body.Count];
                _pending = new bool[body.Count];
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(long row)
        {
            var k = _plan.Kernel;
            long rest = row;
            for (int i = _plan.RowVars.Length - 1; i >= 0; i--)
            {
                int v = _plan.RowVars[i];
                long extent = _plan.Wide is { } w && v == w.Pixel ? w.Tiles : k.Domain[v].At(_batch);
                _vars[v] = i == 0 ? rest : rest % extent;
                rest = i == 0 ? 0 : rest / extent;
            }
            int inner = _plan.Inner, n = _plan.Length;
            if (_plan.Wide is { } wide)
            {
                WalkWide(wide, inner, n);
                return;
            }
            if (_plan.Strided)
            {
                WalkStrided(inner, n);
                return;
            }
            foreach (var instr in k.Body) Evaluate(instr, inner, n);
        }

        /// <summary>A reduction of a strided walk at its identity (0 for a sum, −∞ for a max, +∞ for a min): its first n row values, or its scalar.</summary>
        private void StartReduction(ReduceInstr red, int n)
        {
            float start = red.Kind switch { ReduceKind.Sum => 0f, ReduceKind.Max => float.NegativeInfinity, _ => float.PositiveInfinity };
            if (_plan.PerElement[red.Id]) _rowValues[red.Id].AsSpan(0, n).Fill(start);
            else _scalars[red.Id] = start;
        }

        /// <summary>
        /// One row of a strided walk: the values that change neither with the step nor after a reduction, then the reductions'
        /// accumulators over every step (each step's values evaluated for the whole row), then what follows them and the stores.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void WalkStrided(int inner, int n)
        {
            var walk = _plan.Walk!;
            foreach (var instr in walk.Before) Evaluate(instr, inner, n);
            foreach (var red in walk.Reductions) StartReduction(red, n);
            int variable = _plan.Kernel.ReduceVar;
            StepRowParts(walk, inner);
            var steps = _plan.WalkSteps;
            for (int step = 0; step < _plan.Steps; step++)
            {
                _vars[variable] = step;
                foreach (var instr in steps) Evaluate(instr, inner, n);
                foreach (var red in walk.Reductions) Accumulate(red, n);
            }
            foreach (var instr in walk.After) Evaluate(instr, inner, n);
        }

        /// <summary>This row's parts of the offsets and guards split along the step (<see cref="RowPlan.StepOffsets"/>), at element 0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void StepRowParts(RowPlan.StridedWalk walk, int inner)
        {
            if (inner >= 0) _vars[inner] = 0;
            foreach (var instr in walk.Steps)
            {
                if (_plan.StepOffsets[instr.Id] is not { } split) continue;
                _stepRowOffsets[instr.Id] = IndexEval.Evaluate(split.Outer, _vars, _batch);
                if (_plan.StepGuards[instr.Id] is { } guards)
                    for (int g = 0; g < guards.Length; g++) _stepRowGuards[instr.Id][g] = IndexEval.Evaluate(guards[g].Outer, _vars, _batch);
            }
        }

        /// <summary>
        /// A load split along the step: its offset this step (at element 0 for a block copy, the row's start for a gather) and whether
        /// its guard holds, by one add per term instead of evaluating the expressions.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private long StepOffset(LoadInstr l, RowPlan.SplitOffset split, out bool inside)
        {
            int step = checked((int)_vars[_plan.Kernel.ReduceVar]);
            inside = true;
            if (_plan.StepGuards[l.Id] is { } guards)
            {
                var rowParts = _stepRowGuards[l.Id];
                for (int g = 0; g < guards.Length && inside; g++)
                {
                    long v = rowParts[g] + guards[g].Inner[step];
                    inside = v >= l.Guard[g].Lo && v < l.Guard[g].Hi;
                }
            }
            return _stepRowOffsets[l.Id] + split.Inner[step];
        }

        /// <summary>Combines one step's value of a reduction's operand into its accumulator (the row's, or the one scalar).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Accumulate(ReduceInstr red, int n)
        {
            if (!_plan.PerElement[red.Id])
            {
                float v = _plan.PerElement[red.Arg] ? throw new InvalidOperationException("a scalar accumulator of a varying value") : _scalars[red.Arg];
                _scalars[red.Id] = red.Kind switch { ReduceKind.Sum => _scalars[red.Id] + v, ReduceKind.Max => MathF.Max(_scalars[red.Id], v), _ => MathF.Min(_scalars[red.Id], v) };
                return;
            }
            var acc = _rowValues[red.Id].AsSpan(0, n);
            if (_plan.StepProducts[red.Id] is >= 0 and var product)
            {
                var args = ((OpInstr)_plan.Kernel.Body[product]).Args;
                int a = _plan.Source(args[0]), b = _plan.Source(args[1]);
                if (_plan.PerElement[a] && _plan.PerElement[b]) RowMath.FusedMultiplyAdd(acc, Values(a, n), Values(b, n));
                else if (_plan.PerElement[a]) RowMath.FusedMultiplyAdd(acc, Values(a, n), _scalars[b]);
                else RowMath.FusedMultiplyAdd(acc, Values(b, n), _scalars[a]);
                return;
            }
            var x = Values(red.Arg, n);
            switch (red.Kind)
            {
                case ReduceKind.Sum: RowMath.Add(acc, x); break;
                case ReduceKind.Max: RowMath.Max(acc, x); break;
                default: RowMath.Min(acc, x); break;
            }
        }

        /// <summary>One instruction for the whole row (or once, for a value that does not vary along it).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
                    else if (_plan.PerElement[load])
                    {
                        // The load's values where they are (its view, or its row array until the load runs again), not a copy.
                        _views[op.Id] = _views[load];
                        _holder[op.Id] = load;
                    }
                    else
                    {
                        _views[op.Id] = null;
                        _holder[op.Id] = op.Id;
                        _rowValues[op.Id].AsSpan(0, n).Fill(_scalars[load]);
                    }
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

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Load(LoadInstr l, bool per, int inner, int n)
        {
            float* source = _buffers[l.Buffer];
            _views[l.Id] = null;
            if (_plan.Strided && _plan.StepOffsets[l.Id] is { } stepSplit)
            {
                LoadStep(l, per, n, source, StepOffset(l, stepSplit, out bool inside), inside);
                return;
            }
            if (!per)
            {
                _scalars[l.Id] = l.Guard.Count == 0 || Inside(l.Guard) ? source[IndexEval.Evaluate(l.Offset, _vars, _batch)] : _plan.Padding[l.Id];
                return;
            }
            var values = _rowValues[l.Id];
            if (_plan.Linear[l.Id])
            {
                _vars[inner] = 0;
                // Its guard (if any) does not move along the row: the whole block is inside, or all of it is the padding value.
                if (l.Guard.Count > 0 && !Inside(l.Guard)) values.AsSpan(0, n).Fill(_plan.Padding[l.Id]);
                else Block(l, source + IndexEval.Evaluate(l.Offset, _vars, _batch), values, n);
                return;
            }
            if (_plan.Split[l.Id] is { } split)
            {
                float* row = source + IndexEval.Evaluate(split.Outer, _vars, _batch);
                var offsets = split.Inner;
                if (l.Guard.Count == 0 || !_plan.GuardMoves[l.Id])
                {
                    if (l.Guard.Count > 0 && !Inside(l.Guard)) values.AsSpan(0, n).Fill(_plan.Padding[l.Id]);
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
                    values[e] = Inside(l.Guard) ? row[offsets[e]] : _plan.Padding[l.Id];
                }
                return;
            }
            for (int e = 0; e < n; e++)
            {
                _vars[inner] = e;
                values[e] = l.Guard.Count == 0 || Inside(l.Guard) ? source[IndexEval.Evaluate(l.Offset, _vars, _batch)] : _plan.Padding[l.Id];
            }
        }

        /// <summary>A load of a strided walk's step at <paramref name="offset"/> (<see cref="StepOffset"/>): one value, a block, or a gathered row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void LoadStep(LoadInstr l, bool per, int n, float* source, long offset, bool inside)
        {
            float otherwise = _plan.Padding[l.Id];
            if (!per)
            {
                _scalars[l.Id] = inside ? source[offset] : otherwise;
                return;
            }
            var values = _rowValues[l.Id];
            if (!inside) values.AsSpan(0, n).Fill(otherwise);
            else if (_plan.Linear[l.Id]) Block(l, source + offset, values, n);
            else
            {
                float* row = source + offset;
                var offsets = _plan.Split[l.Id]!.Inner;
                for (int e = 0; e < n; e++) values[e] = row[offsets[e]];
            }
        }

        /// <summary>A load's contiguous block: viewed in place where the kernel only reads its buffer, else copied.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Block(LoadInstr l, float* start, float[] values, int n)
        {
            if (_readOnly[l.Buffer]) _views[l.Id] = start;
            else new ReadOnlySpan<float>(start, n).CopyTo(values);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Store(StoreInstr st, bool per, int inner, int n)
        {
            float* target = _buffers[st.Buffer];
            if (st.Accumulate)
            {
                // Rows run on several cores and may add into one element (the rows of one image into its pooled value).
                for (int e = 0; e < (per ? n : 1); e++)
                {
                    if (per) _vars[inner] = e;
                    AtomicAdd(target + IndexEval.Evaluate(st.Offset, _vars, _batch), per && _plan.PerElement[st.Value] ? Value(st.Value, e) : Scalar(st.Value));
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
                Values(st.Value, n).CopyTo(new Span<float>(target + IndexEval.Evaluate(st.Offset, _vars, _batch), n));
                return;
            }
            if (_plan.Split[st.Id] is { } split)
            {
                float* row = target + IndexEval.Evaluate(split.Outer, _vars, _batch);
                var offsets = split.Inner;
                if (varying)
                {
                    var values = Values(st.Value, n);
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
                target[IndexEval.Evaluate(st.Offset, _vars, _batch)] = varying ? Value(st.Value, e) : Scalar(st.Value);
            }
        }

        private float Scalar(int id) => _scalars[id];

        /// <summary>A varying value's row: viewed in place or computed into its row array.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private ReadOnlySpan<float> Values(int id, int n)
        {
            float* view = _views[id];
            return view != null ? new ReadOnlySpan<float>(view, n) : _rowValues[_holder[id]].AsSpan(0, n);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private float Value(int id, int e)
        {
            float* view = _views[id];
            return view != null ? view[e] : _rowValues[_holder[id]][e];
        }

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
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private void LoadRuns(LoadInstr l, float* row, long[] offsets, int[] runs, float[] values)
        {
            var guards = _plan.BoundSplits[l.Id]!;
            Span<long> outer = stackalloc long[guards.Length];
            RowParts(guards, outer);
            for (int i = 0; i + 1 < runs.Length; i++)
            {
                int start = runs[i], length = runs[i + 1] - start;
                var part = values.AsSpan(start, length);
                if (!Inside(l.Guard, guards, outer, start)) part.Fill(_plan.Padding[l.Id]);
                else new ReadOnlySpan<float>(row + offsets[start], length).CopyTo(part);
            }
        }

        /// <summary>A gathered load whose guard moves along the row, its bounds split: one add and compare per bound and element.</summary>
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private void LoadSplitGuarded(LoadInstr l, float* row, long[] offsets, RowPlan.SplitOffset[] guards, float[] values, int n)
        {
            Span<long> outer = stackalloc long[guards.Length];
            RowParts(guards, outer);
            if (WhollyInside(l.Guard, guards, outer))
            {
                // Most rows of a padded window's gather (every pixel away from the border): no element to check.
                for (int e = 0; e < n; e++) values[e] = row[offsets[e]];
                return;
            }
            float otherwise = _plan.Padding[l.Id];
            for (int e = 0; e < n; e++) values[e] = Inside(l.Guard, guards, outer, e) ? row[offsets[e]] : otherwise;
        }

        /// <summary>A predicate that moves along the row, its bounds split.</summary>
        [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
        private void SplitPredicate(PredicateInstr p, RowPlan.SplitOffset[] split, int n)
        {
            Span<long> outer = stackalloc long[split.Length];
            RowParts(split, outer);
            var values = _rowValues[p.Id];
            for (int e = 0; e < n; e++) values[e] = Inside(p.Bounds, split, outer, e) ? 1f : 0f;
        }

        /// <summary>Each split bound's part that does not move along the row, at this row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void RowParts(RowPlan.SplitOffset[] splits, Span<long> outer)
        {
            for (int g = 0; g < splits.Length; g++) outer[g] = IndexEval.Evaluate(splits[g].Outer, _vars, _batch);
        }

        /// <summary>Whether every element of the row is inside <paramref name="bounds"/>, split as <paramref name="splits"/>: each bound at its extremes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static bool WhollyInside(EquatableArray<IndexBound> bounds, RowPlan.SplitOffset[] splits, ReadOnlySpan<long> outer)
        {
            for (int g = 0; g < splits.Length; g++)
                if (outer[g] + splits[g].Least < bounds[g].Lo || outer[g] + splits[g].Greatest >= bounds[g].Hi) return false;
            return true;
        }

        /// <summary>Whether element <paramref name="e"/> of the row is inside <paramref name="bounds"/>, split as <paramref name="splits"/> with this row's <paramref name="outer"/> parts.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static bool Inside(EquatableArray<IndexBound> bounds, RowPlan.SplitOffset[] splits, ReadOnlySpan<long> outer, int e)
        {
            for (int g = 0; g < splits.Length; g++)
            {
                long v = outer[g] + splits[g].Inner[e];
                if (v < bounds[g].Lo || v >= bounds[g].Hi) return false;
            }
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool Inside(EquatableArray<IndexBound> bounds)
        {
            foreach (var b in bounds)
            {
                long v = IndexEval.Evaluate(b.Expr, _vars, _batch);
                if (v < b.Lo || v >= b.Hi) return false;
            }
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private float Reduce(ReduceInstr red, int n)
        {
            if (!_plan.PerElement[red.Arg])
            {
                float v = _scalars[red.Arg];
                return red.Kind switch { ReduceKind.Sum => v * n, _ => v };
            }
            var values = Values(red.Arg, n);
            return red.Kind switch
            {
                ReduceKind.Sum => TensorPrimitives.Sum<float>(values),
                ReduceKind.Max => TensorPrimitives.Max<float>(values),
                _ => TensorPrimitives.Min<float>(values),
            };
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Compute(OpInstr op, bool per, int n)
        {
            var a = op.Args;
            if (!per)
            {
                _scalars[op.Id] = ScalarMath.Apply(op.Op, _scalars[a[0]], a.Count > 1 ? _scalars[a[1]] : 0f, a.Count > 2 ? _scalars[a[2]] : 0f);
                return;
            }
            var y = _rowValues[op.Id].AsSpan(0, n);
            ReadOnlySpan<float> Span(int i) => Values(a[i], n);
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
                    case ScalarOp.Gelu: VectorMath.Gelu(x, y); return;
                    case ScalarOp.GeluTanh: VectorMath.GeluTanh(x, y); return;
                    case ScalarOp.RoundF16: RoundToHalf(x, y); return;
                    default:
                        for (int e = 0; e < n; e++) y[e] = ScalarMath.Apply(op.Op, x[e], 0f, 0f);
                        return;
                }
            }
            // Binary arithmetic through RowMath (compiled at first call, TensorPrimitives' bits); anything else element by element.
            if (a.Count == 2 && P(0) && P(1)) { if (RowMath.TryApply(op.Op, Span(0), Span(1), y)) return; }
            else if (a.Count == 2 && P(0)) { if (RowMath.TryApply(op.Op, Span(0), _scalars[a[1]], scalarFirst: false, y)) return; }
            // A scalar on the left (1 + erf(…), 0.5 · x, 1 / (…)).
            else if (a.Count == 2 && P(1)) { if (RowMath.TryApply(op.Op, Span(1), _scalars[a[0]], scalarFirst: true, y)) return; }
            for (int e = 0; e < n; e++)
            {
                float x0 = P(0) ? Value(a[0], e) : _scalars[a[0]];
                float x1 = a.Count > 1 ? (P(1) ? Value(a[1], e) : _scalars[a[1]]) : 0f;
                float x2 = a.Count > 2 ? (P(2) ? Value(a[2], e) : _scalars[a[2]]) : 0f;
                y[e] = ScalarMath.Apply(op.Op, x0, x1, x2);
            }
        }
    }
}
