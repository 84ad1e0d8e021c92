using System.Runtime.CompilerServices;
using Fusion.Compiler;

namespace Fusion;

internal static unsafe partial class LoopInterpreter
{
    /// <summary>
    /// A strided walk whose rows cover several consecutive pixels: <see cref="Pixels"/> points of the slide variable
    /// (<see cref="KernelMapping.SlideVariable"/>, the output variable outside the channels) times the row variable's
    /// <see cref="RowPlan.Length"/> channels. A row of a 7×7 depthwise convolution over 96 channels was 49 steps of 96
    /// multiply-adds, each paying the interpreter's dispatch, offsets and guards; over 28 pixels each step is 2688 of them for
    /// the same overhead. Only what moves with the pixel is evaluated over the wide row (<see cref="Full"/>): a load of a block
    /// of channels a pixel (its segments; contiguous when the pixel's stride is the channel count, then read in place), the values
    /// computed from such, the accumulators they feed and the stores. Everything else (a depthwise weight, a bias) is evaluated
    /// over the channels alone, as before, and combined with each pixel's segment (a fused multiply-add with a channel-periodic
    /// factor reads it in place, one call a step). A guard that moves with the pixel is affine in it, so the pixels inside it are
    /// one range: the segments outside read the padding value. Each output keeps its order of taps, so results are those of
    /// the narrow walk bit for bit.
    /// </summary>
    private sealed class WideRow
    {
        /// <summary>
        /// Elements a wide row aims at: large enough to amortize a step's dispatch, small enough for its accumulators to stay in L1/L2
        /// (on the 2-core dev machine ConvNeXt-T's four depthwise kernels took 8.1 ms a pass at 3072, 10.0 at 1536, 34 a pixel a row).
        /// </summary>
        private const int TargetElements = 3072;

        private WideRow(int pixel, int pixels, long tiles, long extent, bool[] full, long[] stride, long[][] guardSlope)
        {
            Pixel = pixel;
            Pixels = pixels;
            Tiles = tiles;
            Extent = extent;
            Full = full;
            Stride = stride;
            GuardSlope = guardSlope;
        }

        /// <summary>The slide variable a row covers several points of.</summary>
        public int Pixel { get; }

        /// <summary>Pixels a row covers (the last tile of a line may have fewer).</summary>
        public int Pixels { get; }

        /// <summary>Rows along the slide variable: ⌈extent / pixels⌉.</summary>
        public long Tiles { get; }

        /// <summary>The slide variable's extent.</summary>
        public long Extent { get; }

        /// <summary>Values that move with the pixel, evaluated over the wide row (pixels × channels); the rest over the channels.</summary>
        public bool[] Full { get; }

        /// <summary>Of a full load or a store: how far its address moves from one pixel to the next.</summary>
        public long[] Stride { get; }

        /// <summary>Of a full load: each guard bound's coefficient of the pixel (0 where the bound does not move with it).</summary>
        public long[][] GuardSlope { get; }

        public static WideRow? Of(RowPlan plan, long batch)
        {
            var kernel = plan.Kernel;
            int inner = plan.Inner, x = KernelMapping.SlideVariable(kernel);
            if (inner < 0 || inner != KernelMapping.OutputVariable(kernel) || x < 0 || x == inner || x == kernel.ReduceVar || plan.Length <= 0) return null;
            long extent = kernel.Domain[x].At(batch);
            int pixels = (int)Math.Min(extent, Math.Max(1, TargetElements / plan.Length));
            // Enough rows for every core (four each) where the other row variables give few (ConvNeXt-T's last stage: 7 × 7 pixels at batch 1).
            long others = plan.RowVars.Where(v => v != x).Aggregate(1L, (p, v) => p * kernel.Domain[v].At(batch));
            long fewest = (4L * Fusion.Kernels.Cpu.Parallelism.Workers + others - 1) / Math.Max(1, others);
            if (fewest > 1) pixels = (int)Math.Min(pixels, Math.Max(1, (extent + fewest - 1) / fewest));
            if (pixels < 2) return null;
            long tiles = (extent + pixels - 1) / pixels;
            pixels = checked((int)((extent + tiles - 1) / tiles)); // even tiles: 56 pixels of 96 channels as 2 × 28, not 32 + 24
            var body = kernel.Body;
            var full = new bool[body.Count];
            var stride = new long[body.Count];
            var slopes = new long[body.Count][];
            foreach (var instr in body)
            {
                switch (instr)
                {
                    case LoadInstr l:
                        if (!l.Offset.Uses(x) && !l.Guard.Any(g => g.Expr.Uses(x))) break;
                        // A block of channels a pixel, its guard not moving along the channels.
                        if (!plan.PerElement[l.Id] || !plan.Linear[l.Id] || plan.GuardMoves[l.Id] || Slope(l.Offset, x) is not { } s) return null;
                        var g = new long[l.Guard.Count];
                        for (int b = 0; b < g.Length; b++)
                        {
                            if (Slope(l.Guard[b].Expr, x) is not { } k) return null;
                            g[b] = k;
                        }
                        full[l.Id] = true;
                        stride[l.Id] = s;
                        slopes[l.Id] = g;
                        break;
                    case PredicateInstr p:
                        if (p.Bounds.Any(b => b.Expr.Uses(x)) && !plan.Skipped[p.Id]) return null;
                        break;
                    case OpInstr op:
                        full[op.Id] = plan.SameAs[op.Id] is >= 0 and var load ? full[load] && plan.PerElement[op.Id] : op.Args.Any(a => full[a]);
                        break;
                    case ReduceInstr red:
                        full[red.Id] = full[red.Arg];
                        if (full[red.Id] && !plan.PerElement[red.Id]) return null;
                        break;
                    case StoreInstr st:
                        // Every store writes each pixel's channels as one block.
                        if (st.Accumulate || !plan.PerElement[st.Id] || !plan.Linear[st.Id] || Slope(st.Offset, x) is not { } t || t == 0) return null;
                        stride[st.Id] = t;
                        break;
                }
            }
            // A value that moves with the pixel but not along the channels has no row form here.
            if (body.Any(i => full[i.Id] && !plan.PerElement[i.Id])) return null;
            return new WideRow(x, pixels, tiles, extent, full, stride, slopes);
        }

        /// <summary>The coefficient of <paramref name="x"/> in <paramref name="e"/> when it appears only as a term of its own (0 when absent); else null.</summary>
        private static long? Slope(IndexExpr e, int x)
        {
            long slope = 0;
            foreach (var term in e.Terms)
            {
                if (!term.Factors.Any(f => f.Uses(x))) continue;
                if (slope != 0 || term.Factors is not [{ Kind: IndexAtomKind.Var } atom] || atom.Variable != x) return null;
                slope = term.Coef;
            }
            return slope;
        }
    }

    private sealed partial class RowState
    {
        /// <summary>Of a full load not yet in a row array (<see cref="_pending"/>): its first pixel's block; pixel p's is this + stride·p.</summary>
        private readonly float*[]? _segmentBase;

        /// <summary>Of a pending full load: the pixels inside its guard (the others read its padding value).</summary>
        private readonly (int Start, int End)[]? _segmentRange;

        /// <summary>Full loads described by segments, copied into their row array only when a reader needs them contiguous.</summary>
        private readonly bool[]? _pending;

        /// <summary>This wide row's pixels.</summary>
        private int _pixels;

        /// <summary>One row of a strided walk over several pixels (<see cref="WideRow"/>): <see cref="WalkStrided"/> with the full values over pixels × channels.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void WalkWide(WideRow wide, int inner, int c)
        {
            long x0 = _vars[wide.Pixel] * wide.Pixels;
            _vars[wide.Pixel] = x0;
            _pixels = (int)Math.Min(wide.Pixels, wide.Extent - x0);
            var walk = _plan.Walk!;
            foreach (var instr in walk.Before) EvaluateWide(wide, instr, inner, c);
            foreach (var red in walk.Reductions) StartReduction(red, wide.Full[red.Id] ? _pixels * c : c);
            int variable = _plan.Kernel.ReduceVar;
            StepRowParts(walk, inner);
            var steps = _plan.WalkSteps;
            for (int step = 0; step < _plan.Steps; step++)
            {
                _vars[variable] = step;
                foreach (var instr in steps) EvaluateWide(wide, instr, inner, c);
                foreach (var red in walk.Reductions)
                {
                    if (wide.Full[red.Id]) AccumulateWide(wide, red, c);
                    else Accumulate(red, c);
                }
            }
            foreach (var instr in walk.After) EvaluateWide(wide, instr, inner, c);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void EvaluateWide(WideRow wide, Instr instr, int inner, int c)
        {
            if (!wide.Full[instr.Id] && instr is not StoreInstr)
            {
                Evaluate(instr, inner, c);
                return;
            }
            switch (instr)
            {
                case LoadInstr l:
                    LoadWide(wide, l, inner, c);
                    break;
                case OpInstr op when _plan.SameAs[op.Id] is >= 0 and var load:
                    Ready(wide, load, c);
                    _views[op.Id] = _views[load];
                    _holder[op.Id] = load;
                    break;
                case OpInstr op:
                    foreach (int a in op.Args) Widen(wide, a, c);
                    Compute(op, true, _pixels * c);
                    break;
                case StoreInstr st:
                    StoreWide(wide, st, inner, c);
                    break;
                default:
                    throw new InvalidOperationException($"{instr} has no wide form");
            }
        }

        /// <summary>
        /// A load that moves with the pixel: its first pixel's address and guard this step, and the pixels inside the guard (each
        /// bound affine in the pixel). A contiguous block wholly inside an input is viewed in place; else described by segments.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void LoadWide(WideRow wide, LoadInstr l, int inner, int c)
        {
            var slopes = wide.GuardSlope[l.Id];
            int p0 = 0, p1 = _pixels;
            long offset;
            if (_plan.StepOffsets[l.Id] is { } split)
            {
                int step = checked((int)_vars[_plan.Kernel.ReduceVar]);
                offset = _stepRowOffsets[l.Id] + split.Inner[step];
                if (_plan.StepGuards[l.Id] is { } guards)
                    for (int g = 0; g < guards.Length; g++)
                        Narrow(_stepRowGuards[l.Id][g] + guards[g].Inner[step], slopes[g], l.Guard[g], ref p0, ref p1);
            }
            else
            {
                _vars[inner] = 0;
                offset = IndexEval.Evaluate(l.Offset, _vars, _batch);
                for (int g = 0; g < l.Guard.Count; g++) Narrow(IndexEval.Evaluate(l.Guard[g].Expr, _vars, _batch), slopes[g], l.Guard[g], ref p0, ref p1);
            }
            if (p0 >= p1) p0 = p1 = 0;
            float* start = _buffers[l.Buffer] + offset;
            if (p0 == 0 && p1 == _pixels && wide.Stride[l.Id] == c && _readOnly[l.Buffer])
            {
                _views[l.Id] = start;
                _pending![l.Id] = false;
                return;
            }
            // Never read outside [p0, p1): those pixels' addresses may lie outside the buffer.
            _views[l.Id] = null;
            _pending![l.Id] = true;
            _segmentBase![l.Id] = start;
            _segmentRange![l.Id] = (p0, p1);
        }

        /// <summary>Narrows [p0, p1) to the pixels p where lo ≤ v + slope·p &lt; hi.</summary>
        private static void Narrow(long v, long slope, IndexBound bound, ref int p0, ref int p1)
        {
            long lo = bound.Lo - v, hi = bound.Hi - 1 - v; // slope·p in [lo, hi]
            long first, last;
            if (slope == 0) (first, last) = lo <= 0 && 0 <= hi ? (long.MinValue, long.MaxValue) : (1, 0);
            else if (slope > 0) (first, last) = (-FloorDiv(-lo, slope), FloorDiv(hi, slope));
            else (first, last) = (-FloorDiv(hi, -slope), FloorDiv(-lo, -slope));
            if (first > p0) p0 = (int)Math.Min(first, p1);
            if (last < p1 - 1) p1 = (int)Math.Max(last + 1, p0);
        }

        private static long FloorDiv(long a, long d) => a >= 0 ? a / d : -((-a + d - 1) / d);

        /// <summary>A full value in its row array (or viewed) over the whole wide row: a pending load copied a pixel at a time.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Ready(WideRow wide, int id, int c)
        {
            if (!_pending![id]) return;
            var values = _rowValues[id];
            float* start = _segmentBase![id];
            var (p0, p1) = _segmentRange![id];
            long stride = wide.Stride[id];
            float otherwise = _plan.Padding[id];
            for (int p = 0; p < _pixels; p++)
            {
                var part = values.AsSpan(p * c, c);
                if (p >= p0 && p < p1) new ReadOnlySpan<float>(start + stride * p, c).CopyTo(part);
                else part.Fill(otherwise);
            }
            _pending[id] = false;
            _views[id] = null;
            _holder[id] = id;
        }

        /// <summary>An operand of a full instruction over the wide row: a full value made ready, a value over the channels repeated for each pixel.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Widen(WideRow wide, int id, int c)
        {
            if (!_plan.PerElement[id]) return;
            if (wide.Full[id])
            {
                Ready(wide, id, c);
                return;
            }
            var own = _rowValues[id];
            if (_views[id] != null || _holder[id] != id)
            {
                Values(id, c).CopyTo(own);
                _views[id] = null;
                _holder[id] = id;
            }
            for (int p = 1; p < _pixels; p++) own.AsSpan(0, c).CopyTo(own.AsSpan(p * c, c));
        }

        /// <summary>
        /// Combines one step's full operand into a full accumulator a range of pixels at a time: the pixels inside a pending load's
        /// guard straight from the input (one call when they are contiguous), the others with its padding value; a fused product
        /// with a factor over the channels (a depthwise weight) or one value reads that factor for every pixel.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void AccumulateWide(WideRow wide, ReduceInstr red, int c)
        {
            int n = _pixels * c;
            var acc = _rowValues[red.Id].AsSpan(0, n);
            int a = red.Arg, b = -1;
            if (_plan.StepProducts[red.Id] is >= 0 and var product)
            {
                var args = ((OpInstr)_plan.Kernel.Body[product]).Args;
                (a, b) = (_plan.Source(args[0]), _plan.Source(args[1]));
                if (!wide.Full[a]) (a, b) = (b, a);
                if (wide.Full[b])
                {
                    Ready(wide, a, c);
                    Ready(wide, b, c);
                    RowMath.FusedMultiplyAdd(acc, Values(a, n), Values(b, n));
                    return;
                }
            }
            if (_pending![a])
            {
                var (p0, p1) = _segmentRange![a];
                AccumulateSegments(wide, red, acc, _segmentBase![a], wide.Stride[a], p0, p1, _plan.Padding[a], b, c);
                return;
            }
            fixed (float* x = Values(a, n)) AccumulateSegments(wide, red, acc, x, c, 0, _pixels, 0f, b, c);
        }

        /// <summary>
        /// acc op= x for pixels [p0, p1) (pixel p's block at x + stride·p), acc op= padding for the others; with a factor
        /// <paramref name="factor"/> (≥ 0: over the channels or one value) a fused multiply-add instead.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void AccumulateSegments(WideRow wide, ReduceInstr red, Span<float> acc, float* x, long stride, int p0, int p1, float padding, int factor, int c)
        {
            bool scalar = factor >= 0 && !_plan.PerElement[factor];
            float s = scalar ? _scalars[factor] : 0f;
            var w = factor >= 0 && !scalar ? Values(factor, c) : default;
            var op = red.Kind switch { ReduceKind.Sum => ScalarOp.Add, ReduceKind.Max => ScalarOp.Max, _ => ScalarOp.Min };
            // The pixels inside: one range when their blocks follow each other, else a block a pixel.
            bool contiguous = stride == c;
            for (int p = p0; p < p1; p = contiguous ? p1 : p + 1)
            {
                int count = contiguous ? p1 - p0 : 1;
                var part = acc.Slice(p * c, count * c);
                var xs = new ReadOnlySpan<float>(x + stride * p, count * c);
                if (factor < 0) RowMath.TryApply(op, part, xs, part);
                else if (scalar) RowMath.FusedMultiplyAdd(part, xs, s);
                else RowMath.FusedMultiplyAddPeriodic(part, xs, w);
            }
            for (int p = 0; p < _pixels; p++)
            {
                if (p == p0 && p1 > p0) p = p1;
                if (p >= _pixels) break;
                var part = acc.Slice(p * c, c);
                if (factor < 0) RowMath.TryApply(op, part, padding, scalarFirst: false, part);
                else if (!scalar) RowMath.FusedMultiplyAdd(part, w, padding);
                else for (int e = 0; e < c; e++) part[e] = MathF.FusedMultiplyAdd(padding, s, part[e]);
            }
        }

        /// <summary>A store over the wide row: each pixel's block of channels (one block when the pixels' blocks follow each other).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void StoreWide(WideRow wide, StoreInstr st, int inner, int c)
        {
            _vars[inner] = 0;
            float* target = _buffers[st.Buffer] + IndexEval.Evaluate(st.Offset, _vars, _batch);
            long stride = wide.Stride[st.Id];
            int n = _pixels * c;
            if (!_plan.PerElement[st.Value])
            {
                float value = Scalar(st.Value);
                for (int p = 0; p < _pixels; p++) new Span<float>(target + stride * p, c).Fill(value);
                return;
            }
            bool full = wide.Full[st.Value];
            if (full) Ready(wide, st.Value, c);
            var values = Values(st.Value, full ? n : c);
            if (full && stride == c)
            {
                values.CopyTo(new Span<float>(target, n));
                return;
            }
            for (int p = 0; p < _pixels; p++) values.Slice(full ? p * c : 0, c).CopyTo(new Span<float>(target + stride * p, c));
        }
    }
}
