using System;
using System.Collections.Generic;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>How a generated kernel's loops map onto GPU threads.</summary>
    internal enum MappingKind
    {
        /// <summary>No reduction: each thread takes <see cref="KernelMapping.Items"/> items a block-width apart.</summary>
        Pointwise,

        /// <summary>A reduction along a contiguous axis short enough for registers: LANES lanes a row, warp shuffles.</summary>
        Row,

        /// <summary>A row too long for registers: a warp per row, in passes.</summary>
        Looped,

        /// <summary>
        /// A reduction along a strided axis: a thread per <see cref="KernelMapping.Vector"/> outputs consecutive along the innermost row
        /// variable (a depthwise convolution's channels, a column mean's features), walking the reduced axis.
        /// </summary>
        Strided,
    }

    /// <summary>
    /// The thread mapping of one <see cref="LoopKernel"/>, decided once and shared by every GPU printer (CUDA C and ILGPU C#), so
    /// the two print the same work split and the runtime launches either by the same <see cref="LaunchShape"/>.
    /// </summary>
    /// <param name="Vector">Elements an item (pointwise) or a chunk (row, looped) covers along the vectorized variable; outputs a
    /// thread takes along the innermost row variable (strided).</param>
    /// <param name="Lanes">Lanes that share a row (row, looped; 1 for pointwise).</param>
    /// <param name="PerLane">Chunks a lane holds in registers (row).</param>
    /// <param name="Items">Items a thread takes (pointwise).</param>
    /// <param name="Unroll">Rows a lane group takes (row).</param>
    /// <param name="Slide">Outputs a thread takes along the slide variable, the row variable outside the innermost one (strided: a
    /// depthwise convolution's neighbouring pixels, whose windows overlap; 1 elsewhere).</param>
    internal sealed record KernelMapping(MappingKind Kind, int Vector, int Lanes, int PerLane, int Items, int Unroll, LaunchShape Launch, int Slide = 1)
    {
        public const int Threads = 256;
        public const int Warps = Threads / 32;
        private const int PointwiseItems = 4;

        /// <summary>Loaded floats a pointwise thread holds at most (items × vector width × loads) before it takes fewer items.</summary>
        private const int LoadRegisters = 32;

        /// <summary>Elements a lane keeps per register array before a row kernel walks its row in passes instead.</summary>
        private const int RegisterElements = 32;

        /// <summary>The longest walk a strided reduction unrolls (7×7 taps fit; longer ones stay loops).</summary>
        public const int MaxUnrolledWalk = 64;

        /// <summary>Pixels a strided thread takes at most along the slide variable.</summary>
        private const int MaxSlide = 8;

        /// <summary>
        /// Accumulators (reductions × V × pixels) a strided thread keeps at most when it takes several pixels: fewer outputs a thread
        /// means more threads, and on the H200 16 beat 32 at batch 1 at each of ConvNeXt-T's four widths (docs/perf.md).
        /// </summary>
        private const int SlideAccumulators = 16;

        /// <summary>The innermost domain variable, which pointwise kernels vectorize (-1 for a kernel with no domain).</summary>
        public static int Inner(LoopKernel k) => k.Domain.Count - 1;

        /// <summary>The domain variables that index rows (all but the reduced one).</summary>
        public static List<int> RowVariables(LoopKernel k) => Enumerable.Range(0, k.Domain.Count).Where(j => j != k.ReduceVar).ToList();

        public static KernelMapping Of(LoopKernel k)
        {
            if (!k.HasReduction) return Pointwise(k);
            int r = k.ReduceVar;
            var perElement = LoopAnalysis.PerElement(k);
            // The access that decides is an activation's (a buffer that grows with the batch) where there is one: a depthwise
            // convolution's weight runs along its taps, while its input (guarded by the padding) steps across pixels there.
            var loads = k.Body.OfType<LoadInstr>().Where(l => perElement[l.Id]).ToList();
            var first = loads.FirstOrDefault(l => k.Buffers[l.Buffer].Shape.Any(d => d.Dynamic)) ?? loads.FirstOrDefault(l => l.Guard.Count == 0);
            bool alongRows = first is null || AccessPattern.UnitSteps(first.Offset, r, k.ReduceExtent, k.VariableExtents.Count) >= 0.5;
            if (!alongRows) return Strided(k);
            int v = VectorWidth(k, r, k.ReduceExtent);
            long chunks = k.ReduceExtent / v;
            int lanes = RowLanes(chunks);
            long per = (chunks + lanes - 1) / lanes;
            if (per * v <= RegisterElements) return Row(k, v, lanes, (int)per);
            return Looped(k, lanes: 32, vector: v);
        }

        /// <summary>Chunks a row lane takes at most when the lanes are chosen so that every lane of a row has work.</summary>
        private const int EvenChunksPerLane = 4;

        /// <summary>
        /// Lanes a row takes: the fewest (a power of two up to 32) that cover the row in one chunk a lane, or 32; where 32 lanes need
        /// more than one pass and the last one leaves lanes idle, the most that share the chunks evenly with at most
        /// <see cref="EvenChunksPerLane"/> a lane. Swin-T's LayerNorms over 384 halves (48 chunks of 8: 32 lanes of 2 chunks, half of
        /// them idle in the second pass, at 45 % of DRAM peak under Nsight Compute) took 49 instead of 75 µs for three calls on 16
        /// lanes of 3 chunks (H100, 2026-12-06, inside the graph at batch 64); the rows of 96 and 192 halves (one pass, some lanes
        /// idle) measured no faster at batch 64 and 5 µs slower a pass at batch 1 on 4 or 8 lanes of 3 chunks, so they keep one pass.
        /// </summary>
        private static int RowLanes(long chunks)
        {
            int covering = 1;
            while (covering < 32 && covering < chunks) covering *= 2;
            if (chunks <= covering || chunks % covering == 0) return covering;
            for (int lanes = 32; lanes >= 1; lanes /= 2)
                if (chunks % lanes == 0 && chunks / lanes <= EvenChunksPerLane) return lanes;
            return covering;
        }

        private static KernelMapping Pointwise(LoopKernel k)
        {
            int inner = Inner(k);
            int v = inner >= 0 && !k.Domain[inner].Dynamic ? VectorWidth(k, inner, k.Domain[inner].Value) : 1;
            var (perBatch, batched) = Count(k, Enumerable.Range(0, k.Domain.Count));
            perBatch /= v;
            // Every load of every item is in registers before the first computation; beyond about 32 floats a thread the
            // registers cut occupancy more than the extra loads in flight gain (3 half8 inputs × 4 items ran at a third of
            // the copy rate on the H200), so fewer items a thread then.
            int loaded = k.Body.OfType<LoadInstr>().Sum(l => Width(k, l, inner, v));
            int items = Math.Max(1, Math.Min(PointwiseItems, LoadRegisters / Math.Max(1, loaded)));
            return new KernelMapping(MappingKind.Pointwise, v, 1, 1, items, 1, new LaunchShape(Threads, (long)Threads * items, perBatch, batched));
        }

        private static KernelMapping Row(LoopKernel k, int v, int lanes, int per)
        {
            var (rows, batched) = Count(k, RowVariables(k));
            int unroll = per * v <= 16 ? 2 : 1;
            return new KernelMapping(MappingKind.Row, v, lanes, per, 1, unroll, new LaunchShape(Threads, (long)Warps * (32 / lanes) * unroll, rows, batched));
        }

        private static KernelMapping Strided(LoopKernel k)
        {
            int v = WidestOutput(k);
            int p = SlideWidth(k);
            int reductions = k.Body.OfType<ReduceInstr>().Count();
            if (p > 1 && p * reductions > SlideAccumulators) p = 1; // too many pixels for the budget even at one output each
            if (p > 1)
                while (v > 1 && v * p * reductions > SlideAccumulators) v /= 2; // narrower vectors keep the pixels: they share loads
            return StridedOf(k, v, p);
        }

        /// <summary>A strided mapping of V outputs along the innermost row variable × P pixels a thread, 256 threads a block.</summary>
        private static KernelMapping StridedOf(LoopKernel k, int vector, int slide)
        {
            var (rows, batched) = Count(k, RowVariables(k));
            return new KernelMapping(MappingKind.Strided, vector, 1, 1, 1, 1, new LaunchShape(Threads, Threads, rows / vector / slide, batched), slide);
        }

        /// <summary>The widest vector of outputs a strided thread may take along <see cref="OutputVariable"/> (<see cref="OutputWidth"/>; 1 when it is the batch).</summary>
        private static int WidestOutput(LoopKernel k)
        {
            int j = OutputVariable(k);
            return j >= 0 && !k.Domain[j].Dynamic ? OutputWidth(k, j, k.Domain[j].Value) : 1;
        }

        /// <summary>
        /// A strided mapping with the widest vector up to <paramref name="vector"/> outputs along the innermost row variable and the largest pixel
        /// count up to <paramref name="slide"/> that divides the slide variable's extent (1 where a sliding walk does not apply): the
        /// other mappings a benchmark compares the chosen one with (Fusion.Bench strided-sources).
        /// </summary>
        public static KernelMapping StridedVariant(LoopKernel k, int vector, int slide)
        {
            if (Of(k).Kind != MappingKind.Strided) throw new ArgumentException($"{k.Name} is not a strided kernel", nameof(k));
            int v = WidestOutput(k);
            while (v > vector) v /= 2;
            int p = SlideWidth(k) > 1 ? slide : 1;
            long extent = p > 1 ? k.Domain[SlideVariable(k)].Value : 1;
            while (extent % p != 0) p--;
            return StridedOf(k, v, p);
        }

        /// <summary>The row variable a strided thread may take several outputs along: the one outside <see cref="OutputVariable"/> (-1 when none).</summary>
        public static int SlideVariable(LoopKernel k)
        {
            var rowVars = RowVariables(k);
            return rowVars.Count > 1 ? rowVars[rowVars.Count - 2] : -1;
        }

        /// <summary>
        /// Pixels a strided thread takes along the slide variable (<see cref="SlidingWalk"/>): only where their windows overlap (a
        /// load moves with both the slide variable and the reduced one, as a convolution's input does), the walk is unrolled, each
        /// pixel stores its own outputs and nothing is stored per step. The whole row when it has at most <see cref="MaxSlide"/>
        /// pixels (no window column is then loaded by two threads), else the largest power of two up to <see cref="MaxSlide"/> that
        /// divides it (7 of a row of 28 or 56 ran slower than 4 or 8 on the H200); 1 otherwise.
        /// </summary>
        private static int SlideWidth(LoopKernel k)
        {
            int i = SlideVariable(k), r = k.ReduceVar;
            if (i < 0 || k.Domain[i].Dynamic || k.ReduceExtent > MaxUnrolledWalk) return 1;
            var stores = k.Body.OfType<StoreInstr>().ToList();
            if (stores.Any(s => s.Offset.Uses(r) || !s.Offset.Uses(i))) return 1;
            if (!k.Body.OfType<LoadInstr>().Any(l => l.Offset.Uses(i) && l.Offset.Uses(r))) return 1;
            long extent = k.Domain[i].Value;
            if (extent <= MaxSlide) return (int)extent;
            for (int p = MaxSlide; p >= 2; p /= 2)
                if (extent % p == 0) return p;
            return 1;
        }

        /// <summary>The variable a strided kernel's thread takes several outputs along: the innermost row variable (-1 when none).</summary>
        public static int OutputVariable(LoopKernel k)
        {
            var rowVars = RowVariables(k);
            return rowVars.Count > 0 ? rowVars[rowVars.Count - 1] : -1;
        }

        /// <summary>
        /// Outputs a strided kernel's thread takes along <paramref name="variable"/>: the largest of 8, 4, 2 dividing its extent at
        /// which every load and store that moves along it moves as a vector (a load's guard, such as a convolution's padding, must
        /// not depend on it: the vector is in or out as a whole) and every store moves along it; 1 when no width does.
        /// </summary>
        private static int OutputWidth(LoopKernel k, int variable, long extent)
        {
            bool Moves(IndexExpr o) => o.Uses(variable);
            return Widest(extent, v => k.Body.All(i => i switch
            {
                LoadInstr l => !l.Guard.Any(g => g.Expr.Uses(variable))
                    && (!Moves(l.Offset) || AccessPattern.Along(l.Offset, variable, v, k.VariableExtents) == AccessKind.Vector),
                StoreInstr s => Moves(s.Offset) && AccessPattern.Along(s.Offset, variable, v, k.VariableExtents) == AccessKind.Vector,
                _ => true,
            }));
        }

        private static KernelMapping Looped(LoopKernel k, int lanes, int vector)
        {
            var (rows, batched) = Count(k, RowVariables(k));
            return new KernelMapping(MappingKind.Looped, vector, lanes, 1, 1, 1, new LaunchShape(Threads, Threads / lanes, rows, batched));
        }

        /// <summary>The product of some variables' extents (per batch when one is dynamic).</summary>
        private static (long PerBatch, bool Batched) Count(LoopKernel k, IEnumerable<int> variables)
        {
            long n = 1;
            bool batched = false;
            foreach (var j in variables)
            {
                n *= k.Domain[j].Value;
                batched |= k.Domain[j].Dynamic;
            }
            return (n, batched);
        }

        /// <summary>The buffers' names as identifiers of the printed kernel: letters, digits and '_', unique, not starting with a digit.</summary>
        public static string[] BufferNames(LoopKernel k)
        {
            var used = new HashSet<string>(StringComparer.Ordinal);
            return k.Buffers.Select(b =>
            {
                var clean = new string(b.Name.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray());
                if (clean.Length == 0 || char.IsDigit(clean[0])) clean = "b" + clean;
                var name = clean;
                for (int n = 2; !used.Add(name); n++) name = clean + "_" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return name;
            }).ToArray();
        }

        /// <summary>Elements a load brings per item: 1 when its address does not move along the vectorized variable.</summary>
        public static int Width(LoopKernel k, LoadInstr l, int vectorVar, int v) =>
            v == 1 || (!l.Offset.Uses(vectorVar) && !l.Guard.Any(g => g.Expr.Uses(vectorVar))) ? 1 : v;

        /// <summary>
        /// The vector width along a variable: the largest of 8, 4, 2 dividing its extent at which the accesses that move along it
        /// (the unguarded ones) all move as vectors; 1 when no width does.
        /// </summary>
        private static int VectorWidth(LoopKernel k, int variable, long extent)
        {
            var offsets = k.Body.Select(i => i switch
            {
                LoadInstr l when l.Guard.Count == 0 => l.Offset,
                StoreInstr s => s.Offset,
                _ => null,
            }).Where(o => o is not null && o.Uses(variable)).ToList();
            return Widest(extent, v => offsets.All(o => AccessPattern.Along(o!, variable, v, k.VariableExtents) == AccessKind.Vector));
        }

        /// <summary>The largest of 8, 4, 2 that divides <paramref name="extent"/> and <paramref name="fits"/>; 1 when none does.</summary>
        private static int Widest(long extent, Func<int, bool> fits)
        {
            foreach (int v in new[] { 8, 4, 2 })
                if (extent % v == 0 && fits(v)) return v;
            return 1;
        }
    }
}
