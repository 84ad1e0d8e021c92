using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// Prints a <see cref="LoopKernel"/> as header-free CUDA C for NVRTC (and clang), choosing how its loops map onto the GPU:
    /// <list type="bullet">
    /// <item><b>pointwise</b>: 256 threads a block, each thread up to 4 items a block-width apart (fewer when its loads would hold more
    /// than 32 floats) with every load issued before the
    /// first computation; an item is a vector of V consecutive elements of the innermost axis (16-byte loads and stores of
    /// half8 when V = 8) where every access allows it, else one element.</item>
    /// <item><b>row</b>: a reduction along a contiguous axis: LANES lanes (a power of two ≤ 32) share a row, each holding its
    /// V-element chunks in unrolled register arrays (float32), reductions combine across lanes with warp shuffles, and a warp
    /// does 32/LANES rows (two per lane group when they are short) with all loads first.</item>
    /// <item><b>strided</b>: a reduction along a strided axis: a thread per V outputs consecutive along the innermost row axis
    /// (V-wide vector loads where every access allows), walking the reduced axis.</item>
    /// <item><b>looped</b>: a row too long for registers (a warp per row, recomputing from memory in each pass).</item>
    /// </list>
    /// Every value is float32; loads convert and stores round once. Index math is in <c>fusion_index</c>, 32-bit unless the source is
    /// compiled with FUSION_INDEX64 (the launcher does when a buffer or the domain reaches 2³⁰ elements at the run's batch).
    /// </summary>
    internal static class CudaKernelPrinter
    {
        public const int Threads = KernelMapping.Threads;
        private const int Warps = KernelMapping.Warps;

        private const int MaxUnrolledWalk = KernelMapping.MaxUnrolledWalk;

        public static PrintedKernel Print(LoopKernel kernel) => Print(kernel, KernelMapping.Of(kernel));

        /// <summary>The kernel on another mapping than <see cref="KernelMapping.Of"/> chooses (a benchmark's variants).</summary>
        public static PrintedKernel Print(LoopKernel kernel, KernelMapping mapping) => new Printer(LoopAnalysis.StoresRoundOnce(kernel)).Run(mapping);

        /// <summary>The C type of a buffer element.</summary>
        public static string CType(FloatType t) => t switch { FloatType.F16 => "half", FloatType.F32 => "float", FloatType.I8 => "signed char", FloatType.F8 => "fusion_e4m3", _ => "io_t" };

        /// <summary>A float32 literal (C syntax).</summary>
        public static string Literal(double v)
        {
            if (double.IsPositiveInfinity(v)) return "fusion_pos_inf()";
            if (double.IsNegativeInfinity(v)) return "fusion_neg_inf()";
            if (double.IsNaN(v)) return "fusion_div(0.0f, 0.0f)";
            return CFamilySyntax.FiniteLiteral(v);
        }

        /// <summary>The C expression of an operation on already-named operands.</summary>
        public static string Expression(ScalarOp op, IReadOnlyList<string> a) => CFamilySyntax.Expression(op, a) ?? op switch
        {
            ScalarOp.Div => $"fusion_div({a[0]}, {a[1]})",
            ScalarOp.Max => $"fusion_max({a[0]}, {a[1]})",
            ScalarOp.Min => $"fusion_min({a[0]}, {a[1]})",
            ScalarOp.Pow => $"fusion_pow({a[0]}, {a[1]})",
            ScalarOp.Abs => $"fusion_abs({a[0]})",
            ScalarOp.Exp => $"fusion_exp({a[0]})",
            ScalarOp.Log => $"fusion_log({a[0]})",
            ScalarOp.Sqrt => $"fusion_sqrt({a[0]})",
            ScalarOp.Rsqrt => $"fusion_rsqrt({a[0]})",
            ScalarOp.Tanh => $"fusion_tanh({a[0]})",
            ScalarOp.Erf => $"fusion_erf({a[0]})",
            ScalarOp.Gelu => $"fusion_gelu_op({a[0]})",
            ScalarOp.GeluTanh => $"fusion_gelu_tanh_sigmoid({a[0]})",
            ScalarOp.Recip => $"fusion_recip({a[0]})",
            ScalarOp.RoundF16 => $"half_to_float(float_to_half({a[0]}))",
            ScalarOp.RoundI8 => $"fusion_round_i8({a[0]})",
            ScalarOp.RoundF8 => $"fusion_round_e4m3({a[0]})",
            ScalarOp.Where => $"fusion_select({a[0]}, {a[1]}, {a[2]})",
            _ => throw new InvalidOperationException($"no CUDA spelling of {op}"),
        };

        public static string Bounds(IEnumerable<IndexBound> bounds) =>
            string.Join(" && ", bounds.Select(b => $"{b.Lo.ToString(CultureInfo.InvariantCulture)} <= ({b.Expr}) && ({b.Expr}) < {b.Hi.ToString(CultureInfo.InvariantCulture)}"));

        public static string Init(ReduceKind kind) => kind switch
        {
            ReduceKind.Sum => "0.0f",
            ReduceKind.Max => "fusion_neg_inf()",
            _ => "fusion_pos_inf()",
        };

        public static string Combine(ReduceKind kind, string a, string b) => kind switch
        {
            ReduceKind.Sum => $"{a} + {b}",
            ReduceKind.Max => $"fusion_max({a}, {b})",
            _ => $"fusion_min({a}, {b})",
        };

        /// <summary>An extent as a C expression (N the batch).</summary>
        public static string Extent(Dim d) => d.Dynamic ? $"({d.Value.ToString(CultureInfo.InvariantCulture)} * N)" : d.Value.ToString(CultureInfo.InvariantCulture);

        private sealed class Printer
        {
            private readonly LoopKernel _k;
            private readonly bool[] _perElement;
            private readonly int[] _phase;
            private readonly string[] _names;
            private readonly SourceBuilder _s = new();

            public Printer(LoopKernel kernel)
            {
                _k = kernel;
                _perElement = LoopAnalysis.PerElement(kernel);
                _phase = LoopAnalysis.Phase(kernel);
                _names = KernelMapping.BufferNames(kernel);
            }

            public PrintedKernel Run(KernelMapping m)
            {
                return m.Kind switch
                {
                    MappingKind.Pointwise => Pointwise(m),
                    MappingKind.Row => Row(m),
                    MappingKind.Strided => Strided(m),
                    _ => Looped(m),
                };
            }

            // ---- pointwise -------------------------------------------------------------------------------------------

            private PrintedKernel Pointwise(KernelMapping m)
            {
                int n = _k.Domain.Count;
                int inner = n - 1;
                int v = m.Vector;
                var launch = m.Launch;
                long perBatch = launch.UnitsPerBatch;
                bool batched = launch.Batched;
                var loads = _k.Body.OfType<LoadInstr>().ToList();
                int itemsPerThread = m.Items;
                Header($"pointwise, {itemsPerThread} item{(itemsPerThread > 1 ? "s" : "")} of {v} element{(v > 1 ? "s" : "")} a thread", launch);
                Line($"const fusion_index items = {perBatch.ToString(CultureInfo.InvariantCulture)}{(batched ? " * N" : "")};");
                Line($"const fusion_index first = (fusion_index)blockIdx.x * {Threads * itemsPerThread} + threadIdx.x;");
                foreach (var j in Enumerable.Range(0, n)) Line($"fusion_index var{j}[{itemsPerThread}];");
                foreach (var l in loads) Line($"float ld{l.Id}[{itemsPerThread * Width(l, inner, v)}];");
                Line("#pragma unroll");
                using (Block($"for (int k = 0; k < {itemsPerThread}; k++)"))
                {
                    Line($"const fusion_index item = first + k * {Threads};");
                    Line("const bool ok = item < items;");
                    Line("fusion_index rest = ok ? item : 0;");
                    Decompose(Enumerable.Range(0, n).ToList(), inner, v);
                    if (inner >= 0) Line($"const fusion_index s{inner} = v{inner};");
                    foreach (var j in Enumerable.Range(0, n)) Line($"var{j}[k] = v{j};");
                    foreach (var l in loads) LoadInto(l, inner, v, $"ld{l.Id}", "k", "ok");
                }
                Line("#pragma unroll");
                using (Block($"for (int k = 0; k < {itemsPerThread}; k++)"))
                {
                    Line($"if (first + k * {Threads} >= items) break;");
                    foreach (var j in Enumerable.Range(0, n)) Line($"const fusion_index v{j} = var{j}[k];");
                    if (inner >= 0) Line($"const fusion_index s{inner} = v{inner};");
                    var ops = _k.Body.Where(i => i is OpInstr or PredicateInstr).ToList();
                    foreach (var op in ops) Line($"float t{op.Id}[{v}];");
                    if (ops.Count > 0)
                    {
                        Line("#pragma unroll");
                        using (Block($"for (int e = 0; e < {v}; e++)"))
                        {
                            if (inner >= 0) Line($"const fusion_index v{inner} = s{inner} + e;");
                            foreach (var op in ops) Line($"t{op.Id}[e] = {Compute(op, id => PointwiseRef(id, inner, v))};");
                        }
                    }
                    foreach (var st in _k.Body.OfType<StoreInstr>()) StoreVector(st, inner, v, id => PointwiseRef(id, inner, v), "true");
                }
                return Finish(launch, "pointwise");
            }

            private string PointwiseRef(int id, int inner, int v) => _k.Body[id] switch
            {
                ConstInstr c => Literal(c.Value),
                LoadInstr l => Width(l, inner, v) == 1 ? $"ld{id}[k]" : $"ld{id}[k * {v} + e]",
                _ => $"t{id}[e]",
            };

            // ---- row (registers) -------------------------------------------------------------------------------------

            private PrintedKernel Row(KernelMapping m)
            {
                int r = _k.ReduceVar, v = m.Vector, lanes = m.Lanes, per = m.PerLane, unroll = m.Unroll;
                var rowVars = KernelMapping.RowVariables(_k);
                var launch = m.Launch;
                var (rowsPerBatch, batched) = (launch.UnitsPerBatch, launch.Batched);
                int groups = 32 / lanes;
                long chunks = _k.ReduceExtent / v;
                Header($"row reduction over {_k.ReduceExtent} elements: {lanes} lanes a row, {per} chunk{(per > 1 ? "s" : "")} of {v} a lane, {unroll} row{(unroll > 1 ? "s" : "")} a lane group", launch);
                Line($"const fusion_index rows = {rowsPerBatch.ToString(CultureInfo.InvariantCulture)}{(batched ? " * N" : "")};");
                Line($"const int lane = threadIdx.x & 31, sub = lane % {lanes};");
                Line($"const fusion_index first = (((fusion_index)blockIdx.x * {Warps} + (threadIdx.x >> 5)) * {groups} + lane / {lanes}) * {unroll};");
                foreach (var j in rowVars) Line($"fusion_index var{j}[{unroll}];");
                Line($"bool okRow[{unroll}];");
                var loads = _k.Body.OfType<LoadInstr>().ToList();
                // A row's elements read by an address that no row variable moves (a LayerNorm's gamma and beta) are the same for every
                // row of the lane group: loaded once, not once a row (fewer registers and loads; rows in flight are what these kernels
                // wait on), after the rows' own loads.
                var shared = loads.Where(l => _perElement[l.Id] && SameForEveryRow(l, rowVars)).ToList();
                var own = loads.Where(l => _perElement[l.Id] && !SameForEveryRow(l, rowVars)).ToList();
                _sharedLoads = new HashSet<int>(shared.Select(l => l.Id));
                // Whole unguarded vectors are held as loaded and unpacked once all loads are issued (fusion_raw, generated.cuh).
                _rawLoads = new HashSet<int>(loads.Where(l => _perElement[l.Id] && HeldRaw(l, r, v)).Select(l => l.Id));
                foreach (var l in loads)
                {
                    string type = CType(_k.Buffers[l.Buffer].Type);
                    if (!_perElement[l.Id]) Line($"float ld{l.Id}[{unroll}];");
                    else if (_sharedLoads.Contains(l.Id)) Line(_rawLoads.Contains(l.Id) ? $"fusion_raw<{type}, {v}> lr{l.Id}[{per}];" : $"float ld{l.Id}[{per * v}];");
                    else Line(_rawLoads.Contains(l.Id) ? $"fusion_raw<{type}, {v}> lr{l.Id}[{unroll}][{per}];" : $"float ld{l.Id}[{unroll}][{per * v}];");
                }
                void ChunkLoads(IEnumerable<LoadInstr> chunkLoads, string ok, string slot)
                {
                    Line("#pragma unroll");
                    using (Block($"for (int c = 0; c < {per}; c++)"))
                    {
                        Line($"const fusion_index chunk = (fusion_index)c * {lanes} + sub;");
                        Line($"const bool ok = {ok}chunk < {chunks};");
                        Line($"const fusion_index v{r} = chunk * {v};");
                        Line($"const fusion_index s{r} = v{r};");
                        foreach (var l in chunkLoads)
                        {
                            if (_rawLoads.Contains(l.Id)) Line($"lr{l.Id}{slot}[c] = fusion_load_raw<{v}>({_names[l.Buffer]} + ({l.Offset}), ok);");
                            else LoadInto(l, r, v, $"ld{l.Id}{slot}", "c", "ok");
                        }
                    }
                }
                Line("#pragma unroll");
                using (Block($"for (int u = 0; u < {unroll}; u++)"))
                {
                    Line("const fusion_index row = first + u;");
                    Line("okRow[u] = row < rows;");
                    Line("fusion_index rest = okRow[u] ? row : 0;");
                    Decompose(rowVars, -1, 1);
                    foreach (var j in rowVars) Line($"var{j}[u] = v{j};");
                    foreach (var l in loads.Where(l => !_perElement[l.Id])) Line($"ld{l.Id}[u] = okRow[u]{GuardAnd(l)} ? {ScalarLoad(l)} : {Literal(l.Otherwise)};");
                    if (own.Count > 0) ChunkLoads(own, "okRow[u] && ", "[u]");
                }
                if (shared.Count > 0) ChunkLoads(shared, "", "");
                foreach (var l in shared.Where(l => _rawLoads.Contains(l.Id))) Unpack(l, "", per, v);
                Line("#pragma unroll");
                using (Block($"for (int u = 0; u < {unroll}; u++)"))
                {
                    foreach (var j in rowVars) Line($"const fusion_index v{j} = var{j}[u];");
                    foreach (var l in own.Where(l => _rawLoads.Contains(l.Id))) Unpack(l, "[u]", per, v);
                    Func<int, string> element = id => RowRef(id, v);
                    foreach (var instr in _k.Body)
                    {
                        switch (instr)
                        {
                            case OpInstr or PredicateInstr when _perElement[instr.Id]:
                                Line($"float t{instr.Id}[{per * v}];");
                                Line("#pragma unroll");
                                using (Block($"for (int c = 0; c < {per}; c++)"))
                                {
                                    Line("#pragma unroll");
                                    using (Block($"for (int e = 0; e < {v}; e++)"))
                                    {
                                        Line($"const fusion_index v{r} = ((fusion_index)c * {lanes} + sub) * {v} + e;");
                                        Line($"t{instr.Id}[c * {v} + e] = {Compute(instr, element)};");
                                    }
                                }
                                break;
                            case OpInstr or PredicateInstr:
                                Line($"const float t{instr.Id} = {Compute(instr, element)};");
                                break;
                            case ReduceInstr red:
                                Line($"float a{red.Id} = {Init(red.Kind)};");
                                Line("#pragma unroll");
                                using (Block($"for (int c = 0; c < {per}; c++)"))
                                {
                                    Line($"if ((fusion_index)c * {lanes} + sub >= {chunks}) break;");
                                    Line("#pragma unroll");
                                    Line($"for (int e = 0; e < {v}; e++) a{red.Id} = {Combine(red.Kind, $"a{red.Id}", element(red.Arg))};");
                                }
                                Shuffle(red, lanes);
                                Line($"const float t{red.Id} = a{red.Id};");
                                break;
                            case StoreInstr st when st.Offset.Uses(r):
                                using (Block("if (okRow[u])"))
                                {
                                    Line("#pragma unroll");
                                    using (Block($"for (int c = 0; c < {per}; c++)"))
                                    {
                                        Line($"const fusion_index chunk = (fusion_index)c * {lanes} + sub;");
                                        Line($"if (chunk >= {chunks}) break;");
                                        Line($"const fusion_index s{r} = chunk * {v};");
                                        StoreVector(st, r, v, element, "true");
                                    }
                                }
                                break;
                            case StoreInstr st:
                                Line($"if (okRow[u] && sub == 0) fusion_store({_names[st.Buffer]} + ({st.Offset}), {element(st.Value)});");
                                break;
                        }
                    }
                }
                return Finish(launch, "row");
            }

            /// <summary>Inside the row kernel's u loop, with c and e the chunk and element.</summary>
            private string RowRef(int id, int v) => _k.Body[id] switch
            {
                ConstInstr c => Literal(c.Value),
                LoadInstr when _sharedLoads.Contains(id) || _rawLoads.Contains(id) => $"ld{id}[c * {v} + e]",
                LoadInstr l => _perElement[id] ? $"ld{id}[u][c * {v} + e]" : $"ld{id}[u]",
                _ => _perElement[id] ? $"t{id}[c * {v} + e]" : $"t{id}",
            };

            // ---- looped ---------------------------------------------------------------------------------------------

            private PrintedKernel Looped(KernelMapping m)
            {
                int r = _k.ReduceVar, lanes = m.Lanes, vector = m.Vector;
                var rowVars = KernelMapping.RowVariables(_k);
                var launch = m.Launch;
                var (rowsPerBatch, batched) = (launch.UnitsPerBatch, launch.Batched);
                long chunks = _k.ReduceExtent / vector;
                Header($"looped (a warp per row, one pass over the row per reduction): {_k.ReduceExtent} elements in chunks of {vector}", launch);
                Line($"const fusion_index rows = {rowsPerBatch.ToString(CultureInfo.InvariantCulture)}{(batched ? " * N" : "")};");
                Line($"const fusion_index row = ((fusion_index)blockIdx.x * {Threads} + threadIdx.x) / {lanes};");
                Line($"const int sub = threadIdx.x % {lanes};");
                Line("if (row >= rows) return; // the lanes of a row are one warp: they leave together");
                Line("fusion_index rest = row;");
                Decompose(rowVars, -1, 1);
                void RowLevel(List<Instr> values)
                {
                    foreach (var instr in values)
                        Line(instr is LoadInstr l
                            ? $"const float ld{l.Id} = {(l.Guard.Count > 0 ? $"({CudaKernelPrinter.Bounds(l.Guard)}) ? {ScalarLoad(l)} : {Literal(l.Otherwise)}" : ScalarLoad(l))};"
                            : $"const float t{instr.Id} = {Compute(instr, id => LoopRef(id))};");
                }
                var passes = LoopAnalysis.LoopedPasses(_k, _perElement, _phase, out var after);
                foreach (var (rowLevel, reductions) in passes)
                {
                    RowLevel(rowLevel);
                    foreach (var red in reductions) Line($"float a{red.Id} = {Init(red.Kind)};");
                    using (Block($"for (fusion_index chunk = sub; chunk < {chunks}; chunk += {lanes})"))
                    {
                        Line($"const fusion_index s{r} = chunk * {vector};");
                        Line($"const fusion_index v{r} = s{r};");
                        VectorValues(Needed(reductions.Select(red => red.Arg)), r, vector, LoopRef);
                        foreach (var red in reductions)
                        {
                            Line("#pragma unroll");
                            Line($"for (int e = 0; e < {vector}; e++) a{red.Id} = {Combine(red.Kind, $"a{red.Id}", LoopRef(red.Arg))};");
                        }
                    }
                    foreach (var red in reductions) Shuffle(red, lanes);
                }
                RowLevel(after);
                var elementStores = _k.Body.OfType<StoreInstr>().Where(st => st.Offset.Uses(r)).ToList();
                if (elementStores.Count > 0)
                {
                    using (Block($"for (fusion_index chunk = sub; chunk < {chunks}; chunk += {lanes})"))
                    {
                        Line($"const fusion_index s{r} = chunk * {vector};");
                        Line($"const fusion_index v{r} = s{r};");
                        VectorValues(Needed(elementStores.Select(st => st.Value)), r, vector, LoopRef);
                        foreach (var st in elementStores) StoreVector(st, r, vector, LoopRef, "true");
                    }
                }
                foreach (var st in _k.Body.OfType<StoreInstr>().Where(st => !st.Offset.Uses(r)))
                    Line($"if (sub == 0) fusion_store({_names[st.Buffer]} + ({st.Offset}), {LoopRef(st.Value)});");
                return Finish(launch, "looped-row");
            }

            // ---- strided (a thread per output vector) ------------------------------------------------------------------

            /// <summary>
            /// A thread takes V outputs consecutive along the innermost row variable j and walks the reduced axis r one step at a
            /// time: every value is an array of V (element e at v_j = s_j + e), a load that moves along j is one V-wide vector (its
            /// guard, the same for the whole vector, decides it), one that does not is a single value. A short walk (a depthwise
            /// convolution's 49 taps, a pooling window) is unrolled so its index math (tap / k, tap % k, the padding bounds) folds
            /// into constants.
            /// </summary>
            private PrintedKernel Strided(KernelMapping m)
            {
                if (SlidingWalk.Applies(m)) return Sliding(m);
                int r = _k.ReduceVar, v = m.Vector;
                var rowVars = KernelMapping.RowVariables(_k);
                int j = KernelMapping.OutputVariable(_k);
                var launch = m.Launch;
                long steps = _k.ReduceExtent;
                Header($"strided reduction over {steps} elements: a thread per {v} output{(v > 1 ? "s" : "")} along the innermost axis, walking the reduced axis", launch);
                ThreadUnit(launch);
                Decompose(rowVars, j, v);
                if (j >= 0) Line($"const fusion_index s{j} = v{j};");
                var passes = LoopAnalysis.LoopedPasses(_k, _perElement, _phase, out var after);
                foreach (var (rowLevel, reductions) in passes)
                {
                    VectorValues(rowLevel.Select(i => i.Id), j, v, id => StridedRef(id, j, v));
                    foreach (var red in reductions)
                    {
                        Line($"float a{red.Id}[{v}];");
                        Line("#pragma unroll");
                        Line($"for (int e = 0; e < {v}; e++) a{red.Id}[e] = {Init(red.Kind)};");
                    }
                    if (steps <= MaxUnrolledWalk) Line("#pragma unroll");
                    using (Block($"for (fusion_index step = 0; step < {steps}; step++)"))
                    {
                        Line($"const fusion_index v{r} = step;");
                        VectorValues(Needed(reductions.Select(red => red.Arg)), j, v, id => StridedRef(id, j, v));
                        foreach (var red in reductions)
                        {
                            Line("#pragma unroll");
                            Line($"for (int e = 0; e < {v}; e++) a{red.Id}[e] = {Combine(red.Kind, $"a{red.Id}[e]", StridedRef(red.Arg, j, v))};");
                        }
                    }
                }
                VectorValues(after.Select(i => i.Id), j, v, id => StridedRef(id, j, v));
                var elementStores = _k.Body.OfType<StoreInstr>().Where(st => st.Offset.Uses(r)).ToList();
                if (elementStores.Count > 0)
                {
                    using (Block($"for (fusion_index step = 0; step < {steps}; step++)"))
                    {
                        Line($"const fusion_index v{r} = step;");
                        VectorValues(Needed(elementStores.Select(st => st.Value)), j, v, id => StridedRef(id, j, v));
                        foreach (var st in elementStores) StoreVector(st, j, v, id => StridedRef(id, j, v), "true");
                    }
                }
                foreach (var st in _k.Body.OfType<StoreInstr>().Where(st => !st.Offset.Uses(r))) StoreVector(st, j, v, id => StridedRef(id, j, v), "true");
                return Finish(launch, "strided");
            }

            /// <summary>
            /// A strided kernel whose thread also takes <see cref="KernelMapping.Slide"/> pixels along the slide variable: the
            /// <see cref="SlidingWalk"/> printed straight (v_slide is the thread's first pixel; every index already has its pixel and
            /// step in it), each value an array w…[V] computed once, each pixel's accumulators a…_p[V].
            /// </summary>
            private PrintedKernel Sliding(KernelMapping m)
            {
                int v = m.Vector, slide = m.Slide;
                int j = KernelMapping.OutputVariable(_k), i = KernelMapping.SlideVariable(_k);
                var launch = m.Launch;
                var walk = new SlidingWalk(_k, m);
                Header($"strided reduction over {_k.ReduceExtent} elements: a thread per {v} output{(v > 1 ? "s" : "")} along the innermost axis "
                    + $"× {slide} along the next, the walk unrolled and the {walk.Slots} values its pixels' windows need computed once each", launch);
                ThreadUnit(launch);
                Decompose(KernelMapping.RowVariables(_k), j, v, i, slide);
                Line($"const fusion_index s{j} = v{j};");
                string Ref(SlidingWalk.Operand o) => o switch
                {
                    SlidingWalk.Literal c => Literal(c.Value),
                    SlidingWalk.Accumulator a => $"a{a.Reduction}_{a.Pixel}[e]",
                    SlidingWalk.Slot { Wide: true } w => $"w{w.Index}[e]",
                    SlidingWalk.Slot w => $"w{w.Index}[0]",
                    _ => throw new InvalidOperationException($"no value {o}"),
                };
                foreach (var action in walk.Actions)
                {
                    switch (action)
                    {
                        case SlidingWalk.Compute { At: LoadInstr l } c:
                            Line($"float w{c.Target.Index}[{Width(l, j, v)}];");
                            LoadInto(l, j, v, $"w{c.Target.Index}", "0", "true");
                            break;
                        case SlidingWalk.Compute c:
                            Line($"float w{c.Target.Index}[{v}];");
                            Line("#pragma unroll");
                            using (Block($"for (int e = 0; e < {v}; e++)"))
                            {
                                Line($"const fusion_index v{j} = s{j} + e;");
                                // An operation over earlier values, or a padding predicate (its bounds are its only operands).
                                Line($"w{c.Target.Index}[e] = {(c.At is OpInstr op ? Expression(op.Op, c.Args.Select(Ref).ToList()) : Compute(c.At, _ => ""))};");
                            }
                            break;
                        case SlidingWalk.Begin b:
                            Line($"float a{b.Reduction.Id}_{b.Pixel}[{v}];");
                            Line("#pragma unroll");
                            Line($"for (int e = 0; e < {v}; e++) a{b.Reduction.Id}_{b.Pixel}[e] = {Init(b.Reduction.Kind)};");
                            break;
                        case SlidingWalk.Accumulate a:
                            Line("#pragma unroll");
                            Line($"for (int e = 0; e < {v}; e++) a{a.Reduction.Id}_{a.Pixel}[e] = {Combine(a.Reduction.Kind, $"a{a.Reduction.Id}_{a.Pixel}[e]", Ref(a.Value))};");
                            break;
                        case SlidingWalk.Store st:
                            StoreVector(st.At, j, v, _ => Ref(st.Value), "true");
                            break;
                    }
                }
                return Finish(launch, "strided");
            }

            /// <summary>A strided kernel's thread is one unit of the launch: past the last it leaves, else 'rest' is its index.</summary>
            private void ThreadUnit(LaunchShape launch)
            {
                Line($"const fusion_index threads = {launch.UnitsPerBatch.ToString(CultureInfo.InvariantCulture)}{(launch.Batched ? " * N" : "")};");
                Line($"const fusion_index thread = (fusion_index)blockIdx.x * {launch.Threads} + threadIdx.x;");
                Line("if (thread >= threads) return;");
                Line("fusion_index rest = thread;");
            }

            /// <summary>Element e of a value in a strided kernel (a load that does not move along j is one value).</summary>
            private string StridedRef(int id, int j, int v) => _k.Body[id] switch
            {
                ConstInstr c => Literal(c.Value),
                ReduceInstr => $"a{id}[e]",
                LoadInstr l => Width(l, j, v) == 1 ? $"x{id}[0]" : $"x{id}[e]",
                _ => $"x{id}[e]",
            };

            /// <summary>Inside a looped kernel's chunk loop (element values x…[e]) or after it (row values, reductions a…).</summary>
            private string LoopRef(int id) => _k.Body[id] switch
            {
                ConstInstr c => Literal(c.Value),
                ReduceInstr => $"a{id}",
                LoadInstr => _perElement[id] ? $"x{id}[e]" : $"ld{id}",
                _ => _perElement[id] ? $"x{id}[e]" : $"t{id}",
            };

            /// <summary>
            /// Computes the values <paramref name="ids"/> (loads and operations, in order) as arrays x…[V] along the vectorized
            /// variable (a looped kernel's chunk, a strided kernel's outputs), element e at v = s + e.
            /// </summary>
            private void VectorValues(IEnumerable<int> ids, int vectorVar, int v, Func<int, string> element)
            {
                foreach (var id in ids.OrderBy(i => i))
                {
                    var instr = _k.Body[id];
                    Line($"float x{id}[{v}];");
                    if (instr is LoadInstr l)
                    {
                        LoadInto(l, vectorVar, v, $"x{id}", "0", "true");
                        continue;
                    }
                    Line("#pragma unroll");
                    using (Block($"for (int e = 0; e < {v}; e++)"))
                    {
                        if (vectorVar >= 0) Line($"const fusion_index v{vectorVar} = s{vectorVar} + e;");
                        Line($"x{id}[e] = {Compute(instr, element)};");
                    }
                }
            }

            private HashSet<int> Needed(IEnumerable<int> roots) => LoopAnalysis.ElementClosure(_k, _perElement, roots);

            // ---- shared pieces ---------------------------------------------------------------------------------------

            private void Header(string strategy, LaunchShape launch)
            {
                Line($"// {_k.Name}: generated by Fusion from the loop IR. {char.ToUpperInvariant(strategy[0])}{strategy.Substring(1)}.");
                Line($"// Launch: {launch}.");
                Line("#include \"generated.cuh\"");
                if (_k.UsesIoType)
                {
                    Line("// io_t is the run's input/output type: the runtime compiles one variant per type (FUSION_IO_HALF 0 or 1).");
                    Line("#if FUSION_IO_HALF");
                    Line("typedef half io_t;");
                    Line("#else");
                    Line("typedef float io_t;");
                    Line("#endif");
                }
                Line();
                var parameters = _k.Buffers.Select((b, i) =>
                    (b.Role == BufferRole.Output ? "" : "const ") + CType(b.Type) + "* __restrict__ " + _names[i]).Concat(new[] { "int batch" });
                Line($"extern \"C\" __global__ void {_k.Name}({string.Join(", ", parameters)})");
                Line("{");
                _s.Indent();
                Line("FUSION_AWAIT_PREVIOUS_GRID();");
                Line("const fusion_index N = batch;");
                Line("(void)N;");
            }

            private PrintedKernel Finish(LaunchShape launch, string strategy)
            {
                _s.Close();
                return new PrintedKernel(_s.ToString(), launch, strategy);
            }

            /// <summary>
            /// Declares v_j for <paramref name="vars"/> from 'rest' (innermost first); the vectorized one in steps of
            /// <paramref name="v"/>, and the slide variable (a sliding strided walk's pixels) in steps of <paramref name="slide"/>.
            /// </summary>
            private void Decompose(List<int> vars, int vectorVar, int v, int slideVar = -1, int slide = 1)
            {
                for (int i = vars.Count - 1; i >= 0; i--)
                {
                    int j = vars[i];
                    var extent = _k.Domain[j];
                    int step = j == vectorVar ? v : j == slideVar ? slide : 1;
                    bool vectorized = step > 1;
                    string size = vectorized ? (extent.Value / step).ToString(CultureInfo.InvariantCulture) : Extent(extent);
                    string value = i == 0 ? "rest" : $"rest % {size}";
                    Line($"const fusion_index v{j} = {(vectorized ? $"({value}) * {step}" : value)};");
                    if (i > 0) Line($"rest /= {size};");
                }
                if (vars.Count == 0) Line("(void)rest;");
            }

            /// <summary>Loads <paramref name="l"/> into <paramref name="target"/>[slot·width …]: a vector, one invariant value, or element by element.</summary>
            private void LoadInto(LoadInstr l, int vectorVar, int v, string target, string slot, string ok)
            {
                int width = Width(l, vectorVar, v);
                string at = width == 1 ? $"{target}[{slot}]" : $"{target}[{slot} * {v} + e]";
                string guard = l.Guard.Count == 0 ? "" : $" && ({CudaKernelPrinter.Bounds(l.Guard)})";
                if (width == 1)
                {
                    Line($"{target}[{slot}] = {ok}{guard} ? {ScalarLoad(l)} : {Literal(l.Otherwise)};");
                    return;
                }
                // A guard that does not move along the vector (a convolution's padding, read channels-last) holds for all of it.
                if (!l.Guard.Any(g => g.Expr.Uses(vectorVar)) && Along(l.Offset, vectorVar, v) == AccessKind.Vector)
                {
                    Line($"if ({ok}{guard}) fusion_load_vec<{v}>({_names[l.Buffer]} + ({l.Offset}), &{target}[{slot} * {v}]);");
                    Line($"else for (int e = 0; e < {v}; e++) {at} = {(l.Guard.Count == 0 ? "0.0f" : Literal(l.Otherwise))};");
                    return;
                }
                Line("#pragma unroll");
                using (Block($"for (int e = 0; e < {v}; e++)"))
                {
                    Line($"const fusion_index v{vectorVar} = s{vectorVar} + e;");
                    Line($"{at} = {ok}{guard} ? {ScalarLoad(l)} : {Literal(l.Otherwise)};");
                }
            }

            private int Width(LoadInstr l, int vectorVar, int v) => KernelMapping.Width(_k, l, vectorVar, v);

            /// <summary>The row kernel's loads held once for all of a lane group's rows (<see cref="Row"/>).</summary>
            private HashSet<int> _sharedLoads = new HashSet<int>();

            /// <summary>The row kernel's loads held as loaded until every load is issued (<see cref="Row"/>).</summary>
            private HashSet<int> _rawLoads = new HashSet<int>();

            /// <summary>Whether a row kernel's load moves whole vectors with nothing to fill in: it can be held as loaded.</summary>
            private bool HeldRaw(LoadInstr l, int vectorVar, int v) =>
                v > 1 && l.Guard.Count == 0 && Width(l, vectorVar, v) == v && Along(l.Offset, vectorVar, v) == AccessKind.Vector;

            /// <summary>Unpacks a raw load's chunks into float ld{id}[per · v] (<paramref name="slot"/>: "[u]" for a row's own).</summary>
            private void Unpack(LoadInstr l, string slot, int per, int v)
            {
                Line($"float ld{l.Id}[{per * v}];");
                Line("#pragma unroll");
                Line($"for (int c = 0; c < {per}; c++) fusion_unpack(lr{l.Id}{slot}[c], &ld{l.Id}[c * {v}]);");
            }

            /// <summary>Whether a load's address and guards use none of the row variables: every row reads the same elements.</summary>
            private static bool SameForEveryRow(LoadInstr l, List<int> rowVars) =>
                !rowVars.Any(j => l.Offset.Uses(j) || l.Guard.Any(g => g.Expr.Uses(j)));

            private string ScalarLoad(LoadInstr l) => $"fusion_load({_names[l.Buffer]} + ({l.Offset}))";

            private string GuardAnd(LoadInstr l) => l.Guard.Count == 0 ? "" : $" && ({CudaKernelPrinter.Bounds(l.Guard)})";

            /// <summary>Stores V values along the vectorized variable (s_var is the first one's): one vector where the address allows.</summary>
            private void StoreVector(StoreInstr st, int vectorVar, int v, Func<int, string> element, string ok)
            {
                string target = _names[st.Buffer];
                if (v > 1 && Along(st.Offset, vectorVar, v) == AccessKind.Vector)
                {
                    using (Block($"if ({ok})"))
                    {
                        Line($"float sv[{v}];");
                        Line("#pragma unroll");
                        Line($"for (int e = 0; e < {v}; e++) sv[e] = {element(st.Value)};");
                        Line($"const fusion_index v{vectorVar} = s{vectorVar};");
                        Line($"{(st.Accumulate ? "fusion_accumulate_vec" : "fusion_store_vec")}<{v}>({target} + ({st.Offset}), sv);");
                    }
                    return;
                }
                Line("#pragma unroll");
                using (Block($"for (int e = 0; e < {v}; e++)"))
                {
                    if (vectorVar >= 0) Line($"const fusion_index v{vectorVar} = s{vectorVar} + e;");
                    Line($"if ({ok}) {(st.Accumulate ? "fusion_accumulate" : "fusion_store")}({target} + ({st.Offset}), {element(st.Value)});");
                }
            }

            private void Shuffle(ReduceInstr red, int lanes)
            {
                if (lanes <= 1) return;
                Line("#pragma unroll");
                Line($"for (int m = {lanes / 2}; m > 0; m >>= 1) a{red.Id} = {Combine(red.Kind, $"a{red.Id}", $"warp_shfl_xor(a{red.Id}, m)")};");
            }

            private AccessKind Along(IndexExpr offset, int variable, int width) => AccessPattern.Along(offset, variable, width, _k.VariableExtents);

            private string Compute(Instr instr, Func<int, string> operand) => instr switch
            {
                OpInstr op => Expression(op.Op, op.Args.Select(operand).ToList()),
                PredicateInstr p => $"(({CudaKernelPrinter.Bounds(p.Bounds)}) ? 1.0f : 0.0f)",
                _ => throw new InvalidOperationException($"{instr.GetType().Name} is not computed"),
            };

            private void Line(string text = "") => _s.Line(text);

            private IDisposable Block(string head) => _s.Block(head);
        }
    }
}
