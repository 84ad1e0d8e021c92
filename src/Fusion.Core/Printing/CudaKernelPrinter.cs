using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

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
    /// <item><b>looped</b>: a reduction along a strided axis (one thread per output, walking the axis), or a row too long for
    /// registers (a warp per row, recomputing from memory in each pass).</item>
    /// </list>
    /// Every value is float32; loads convert and stores round once. Index math is in <c>fusion_index</c>, 32-bit unless the source is
    /// compiled with FUSION_INDEX64 (the launcher does when a buffer or the domain reaches 2³⁰ elements at the run's batch).
    /// </summary>
    internal static class CudaKernelPrinter
    {
        public const int Threads = 256;
        private const int Warps = Threads / 32;
        private const int PointwiseItems = 4;

        /// <summary>Loaded floats a pointwise thread holds at most (items × vector width × loads) before it takes fewer items.</summary>
        private const int LoadRegisters = 32;

        /// <summary>Elements a lane keeps per register array before a row kernel walks its row in passes instead.</summary>
        private const int RegisterElements = 32;

        public static PrintedKernel Print(LoopKernel kernel) => new Printer(kernel).Run();

        /// <summary>The C type of a buffer element.</summary>
        public static string CType(FloatType t) => t switch { FloatType.F16 => "half", FloatType.F32 => "float", _ => "io_t" };

        /// <summary>A float32 literal (C syntax).</summary>
        public static string Literal(double v)
        {
            if (double.IsPositiveInfinity(v)) return "fusion_pos_inf()";
            if (double.IsNegativeInfinity(v)) return "fusion_neg_inf()";
            if (double.IsNaN(v)) return "fusion_div(0.0f, 0.0f)";
            var s = ((float)v).ToString("R", CultureInfo.InvariantCulture);
            if (s.IndexOf('.') < 0 && s.IndexOf('E') < 0) s += ".0";
            return s + "f";
        }

        /// <summary>The C expression of an operation on already-named operands.</summary>
        public static string Expression(ScalarOp op, IReadOnlyList<string> a) => op switch
        {
            ScalarOp.Add => $"({a[0]} + {a[1]})",
            ScalarOp.Sub => $"({a[0]} - {a[1]})",
            ScalarOp.Mul => $"({a[0]} * {a[1]})",
            ScalarOp.Div => $"fusion_div({a[0]}, {a[1]})",
            ScalarOp.Max => $"fusion_max({a[0]}, {a[1]})",
            ScalarOp.Min => $"fusion_min({a[0]}, {a[1]})",
            ScalarOp.Pow => $"fusion_pow({a[0]}, {a[1]})",
            ScalarOp.Lt => $"({a[0]} < {a[1]} ? 1.0f : 0.0f)",
            ScalarOp.Le => $"({a[0]} <= {a[1]} ? 1.0f : 0.0f)",
            ScalarOp.Gt => $"({a[0]} > {a[1]} ? 1.0f : 0.0f)",
            ScalarOp.Ge => $"({a[0]} >= {a[1]} ? 1.0f : 0.0f)",
            ScalarOp.Eq => $"({a[0]} == {a[1]} ? 1.0f : 0.0f)",
            ScalarOp.Ne => $"({a[0]} != {a[1]} ? 1.0f : 0.0f)",
            ScalarOp.Neg => $"(-{a[0]})",
            ScalarOp.Abs => $"fusion_abs({a[0]})",
            ScalarOp.Exp => $"fusion_exp({a[0]})",
            ScalarOp.Log => $"fusion_log({a[0]})",
            ScalarOp.Sqrt => $"fusion_sqrt({a[0]})",
            ScalarOp.Rsqrt => $"fusion_rsqrt({a[0]})",
            ScalarOp.Tanh => $"fusion_tanh({a[0]})",
            ScalarOp.Erf => $"fusion_erf({a[0]})",
            ScalarOp.Recip => $"fusion_recip({a[0]})",
            ScalarOp.RoundF16 => $"half_to_float(float_to_half({a[0]}))",
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
            private readonly StringBuilder _s = new();
            private int _indent;

            public Printer(LoopKernel kernel)
            {
                _k = kernel;
                _perElement = LoopAnalysis.PerElement(kernel);
                _phase = LoopAnalysis.Phase(kernel);
                var used = new HashSet<string>(StringComparer.Ordinal);
                _names = kernel.Buffers.Select((b, i) =>
                {
                    var clean = new string(b.Name.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray());
                    if (clean.Length == 0 || char.IsDigit(clean[0])) clean = "b" + clean;
                    var name = clean;
                    for (int n = 2; !used.Add(name); n++) name = clean + "_" + n.ToString(CultureInfo.InvariantCulture);
                    return name;
                }).ToArray();
            }

            public PrintedKernel Run()
            {
                if (!_k.HasReduction) return Pointwise();
                int r = _k.ReduceVar;
                var first = _k.Body.OfType<LoadInstr>().FirstOrDefault(l => _perElement[l.Id] && l.Guard.Count == 0);
                bool alongRows = first is null || AccessPattern.UnitSteps(first.Offset, r, _k.ReduceExtent, _k.VariableExtents.Count) >= 0.5;
                if (!alongRows) return Looped(lanes: 1, vector: 1, "looped (one thread per output, walking the reduced axis)");
                int v = VectorWidth(r, _k.ReduceExtent);
                long chunks = _k.ReduceExtent / v;
                int lanes = 1;
                while (lanes < 32 && lanes < chunks) lanes *= 2;
                long per = (chunks + lanes - 1) / lanes;
                if (per * v <= RegisterElements) return Row(v, lanes, (int)per);
                return Looped(lanes: 32, vector: v, "looped (a warp per row, one pass over the row per reduction)");
            }

            // ---- pointwise -------------------------------------------------------------------------------------------

            private PrintedKernel Pointwise()
            {
                int n = _k.Domain.Count;
                int inner = n - 1;
                int v = inner >= 0 && !_k.Domain[inner].Dynamic ? VectorWidth(inner, _k.Domain[inner].Value) : 1;
                long perBatch = 1;
                bool batched = false;
                foreach (var d in _k.Domain)
                {
                    perBatch *= d.Value;
                    batched |= d.Dynamic;
                }
                perBatch /= v;
                var loads = _k.Body.OfType<LoadInstr>().ToList();
                // Every load of every item is in registers before the first computation; beyond about 32 floats a thread the
                // registers cut occupancy more than the extra loads in flight gain (3 half8 inputs × 4 items ran at a third of
                // the copy rate on the H200), so fewer items a thread then.
                int loaded = loads.Sum(l => Width(l, inner, v));
                int itemsPerThread = Math.Max(1, Math.Min(PointwiseItems, LoadRegisters / Math.Max(1, loaded)));
                var launch = new LaunchShape(Threads, (long)Threads * itemsPerThread, perBatch, batched);
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

            private PrintedKernel Row(int v, int lanes, int per)
            {
                int r = _k.ReduceVar;
                var rowVars = Enumerable.Range(0, _k.Domain.Count).Where(j => j != r).ToList();
                var (rowsPerBatch, batched) = RowCount(rowVars);
                int groups = 32 / lanes;
                int unroll = per * v <= 16 ? 2 : 1;
                var launch = new LaunchShape(Threads, (long)Warps * groups * unroll, rowsPerBatch, batched);
                long chunks = _k.ReduceExtent / v;
                Header($"row reduction over {_k.ReduceExtent} elements: {lanes} lanes a row, {per} chunk{(per > 1 ? "s" : "")} of {v} a lane, {unroll} row{(unroll > 1 ? "s" : "")} a lane group", launch);
                Line($"const fusion_index rows = {rowsPerBatch.ToString(CultureInfo.InvariantCulture)}{(batched ? " * N" : "")};");
                Line($"const int lane = threadIdx.x & 31, sub = lane % {lanes};");
                Line($"const fusion_index first = (((fusion_index)blockIdx.x * {Warps} + (threadIdx.x >> 5)) * {groups} + lane / {lanes}) * {unroll};");
                foreach (var j in rowVars) Line($"fusion_index var{j}[{unroll}];");
                Line($"bool okRow[{unroll}];");
                var loads = _k.Body.OfType<LoadInstr>().ToList();
                foreach (var l in loads) Line(_perElement[l.Id] ? $"float ld{l.Id}[{unroll}][{per * v}];" : $"float ld{l.Id}[{unroll}];");
                Line("#pragma unroll");
                using (Block($"for (int u = 0; u < {unroll}; u++)"))
                {
                    Line("const fusion_index row = first + u;");
                    Line("okRow[u] = row < rows;");
                    Line("fusion_index rest = okRow[u] ? row : 0;");
                    Decompose(rowVars, -1, 1);
                    foreach (var j in rowVars) Line($"var{j}[u] = v{j};");
                    foreach (var l in loads.Where(l => !_perElement[l.Id])) Line($"ld{l.Id}[u] = okRow[u]{GuardAnd(l)} ? {ScalarLoad(l)} : {Literal(l.Otherwise)};");
                    var elementLoads = loads.Where(l => _perElement[l.Id]).ToList();
                    if (elementLoads.Count > 0)
                    {
                        Line("#pragma unroll");
                        using (Block($"for (int c = 0; c < {per}; c++)"))
                        {
                            Line($"const fusion_index chunk = (fusion_index)c * {lanes} + sub;");
                            Line($"const bool ok = okRow[u] && chunk < {chunks};");
                            Line($"const fusion_index v{r} = chunk * {v};");
                            Line($"const fusion_index s{r} = v{r};");
                            foreach (var l in elementLoads) LoadInto(l, r, v, $"ld{l.Id}[u]", "c", "ok");
                        }
                    }
                }
                Line("#pragma unroll");
                using (Block($"for (int u = 0; u < {unroll}; u++)"))
                {
                    foreach (var j in rowVars) Line($"const fusion_index v{j} = var{j}[u];");
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
                LoadInstr l => _perElement[id] ? $"ld{id}[u][c * {v} + e]" : $"ld{id}[u]",
                _ => _perElement[id] ? $"t{id}[c * {v} + e]" : $"t{id}",
            };

            // ---- looped ---------------------------------------------------------------------------------------------

            private PrintedKernel Looped(int lanes, int vector, string what)
            {
                int r = _k.ReduceVar;
                var rowVars = Enumerable.Range(0, _k.Domain.Count).Where(j => j != r).ToList();
                var (rowsPerBatch, batched) = RowCount(rowVars);
                var launch = new LaunchShape(Threads, Threads / lanes, rowsPerBatch, batched);
                long chunks = _k.ReduceExtent / vector;
                Header($"{what}: {_k.ReduceExtent} elements in chunks of {vector}", launch);
                Line($"const fusion_index rows = {rowsPerBatch.ToString(CultureInfo.InvariantCulture)}{(batched ? " * N" : "")};");
                Line($"const fusion_index row = ((fusion_index)blockIdx.x * {Threads} + threadIdx.x) / {lanes};");
                Line($"const int sub = threadIdx.x % {lanes};");
                Line("if (row >= rows) return; // the lanes of a row are one warp (or one thread): they leave together");
                Line("fusion_index rest = row;");
                Decompose(rowVars, -1, 1);
                var printed = new HashSet<int>();
                void RowLevelUpTo(int phase)
                {
                    foreach (var instr in _k.Body)
                    {
                        if (printed.Contains(instr.Id) || _perElement[instr.Id] || instr is StoreInstr or ReduceInstr or ConstInstr) continue;
                        if (_phase[instr.Id] > phase) continue;
                        printed.Add(instr.Id);
                        Line(instr is LoadInstr l
                            ? $"const float ld{l.Id} = {(l.Guard.Count > 0 ? $"({CudaKernelPrinter.Bounds(l.Guard)}) ? {ScalarLoad(l)} : {Literal(l.Otherwise)}" : ScalarLoad(l))};"
                            : $"const float t{instr.Id} = {Compute(instr, id => LoopRef(id))};");
                    }
                }
                int passes = _k.Body.OfType<ReduceInstr>().Select(red => _phase[red.Id]).DefaultIfEmpty(0).Max();
                for (int q = 0; q < passes; q++)
                {
                    RowLevelUpTo(q);
                    var reductions = _k.Body.OfType<ReduceInstr>().Where(red => _phase[red.Id] == q + 1).ToList();
                    foreach (var red in reductions) Line($"float a{red.Id} = {Init(red.Kind)};");
                    using (Block($"for (fusion_index chunk = sub; chunk < {chunks}; chunk += {lanes})"))
                    {
                        Line($"const fusion_index s{r} = chunk * {vector};");
                        Line($"const fusion_index v{r} = s{r};");
                        ChunkValues(Needed(reductions.Select(red => red.Arg)), r, vector);
                        foreach (var red in reductions)
                        {
                            Line("#pragma unroll");
                            Line($"for (int e = 0; e < {vector}; e++) a{red.Id} = {Combine(red.Kind, $"a{red.Id}", LoopRef(red.Arg))};");
                        }
                    }
                    foreach (var red in reductions) Shuffle(red, lanes);
                }
                RowLevelUpTo(int.MaxValue);
                var elementStores = _k.Body.OfType<StoreInstr>().Where(st => st.Offset.Uses(r)).ToList();
                if (elementStores.Count > 0)
                {
                    using (Block($"for (fusion_index chunk = sub; chunk < {chunks}; chunk += {lanes})"))
                    {
                        Line($"const fusion_index s{r} = chunk * {vector};");
                        Line($"const fusion_index v{r} = s{r};");
                        ChunkValues(Needed(elementStores.Select(st => st.Value)), r, vector);
                        foreach (var st in elementStores) StoreVector(st, r, vector, LoopRef, "true");
                    }
                }
                foreach (var st in _k.Body.OfType<StoreInstr>().Where(st => !st.Offset.Uses(r)))
                    Line($"if (sub == 0) fusion_store({_names[st.Buffer]} + ({st.Offset}), {LoopRef(st.Value)});");
                return Finish(launch, lanes == 1 ? "looped" : "looped-row");
            }

            /// <summary>Inside a looped kernel's chunk loop (element values x…[e]) or after it (row values, reductions a…).</summary>
            private string LoopRef(int id) => _k.Body[id] switch
            {
                ConstInstr c => Literal(c.Value),
                ReduceInstr => $"a{id}",
                LoadInstr => _perElement[id] ? $"x{id}[e]" : $"ld{id}",
                _ => _perElement[id] ? $"x{id}[e]" : $"t{id}",
            };

            /// <summary>Computes the element values <paramref name="ids"/> for one chunk (loads and operations, in order).</summary>
            private void ChunkValues(IReadOnlyCollection<int> ids, int r, int vector)
            {
                foreach (var id in ids.OrderBy(i => i))
                {
                    var instr = _k.Body[id];
                    Line($"float x{id}[{vector}];");
                    if (instr is LoadInstr l)
                    {
                        LoadInto(l, r, vector, $"x{id}", "0", "true");
                        continue;
                    }
                    Line("#pragma unroll");
                    using (Block($"for (int e = 0; e < {vector}; e++)"))
                    {
                        Line($"const fusion_index v{r} = s{r} + e;");
                        Line($"x{id}[e] = {Compute(instr, LoopRef)};");
                    }
                }
            }

            /// <summary>The per-element instructions the values <paramref name="roots"/> depend on (themselves included).</summary>
            private HashSet<int> Needed(IEnumerable<int> roots)
            {
                var needed = new HashSet<int>();
                var stack = new Stack<int>(roots);
                while (stack.Count > 0)
                {
                    int id = stack.Pop();
                    if (!_perElement[id] || !needed.Add(id)) continue;
                    if (_k.Body[id] is OpInstr op) foreach (var a in op.Args) stack.Push(a);
                }
                return needed;
            }

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
                _indent++;
                Line("const fusion_index N = batch;");
                Line("(void)N;");
            }

            private PrintedKernel Finish(LaunchShape launch, string strategy)
            {
                _indent--;
                Line("}");
                return new PrintedKernel(_s.ToString(), launch, strategy);
            }

            /// <summary>Rows: the product of the row variables' extents (per batch when one is dynamic).</summary>
            private (long PerBatch, bool Batched) RowCount(List<int> rowVars)
            {
                long n = 1;
                bool batched = false;
                foreach (var j in rowVars)
                {
                    n *= _k.Domain[j].Value;
                    batched |= _k.Domain[j].Dynamic;
                }
                return (n, batched);
            }

            /// <summary>Declares v_j for <paramref name="vars"/> from 'rest' (innermost first); the vectorized one in steps of <paramref name="v"/>.</summary>
            private void Decompose(List<int> vars, int vectorVar, int v)
            {
                for (int i = vars.Count - 1; i >= 0; i--)
                {
                    int j = vars[i];
                    var extent = _k.Domain[j];
                    bool vectorized = j == vectorVar && v > 1;
                    string size = vectorized ? (extent.Value / v).ToString(CultureInfo.InvariantCulture) : Extent(extent);
                    string value = i == 0 ? "rest" : $"rest % {size}";
                    Line($"const fusion_index v{j} = {(vectorized ? $"({value}) * {v}" : value)};");
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
                if (l.Guard.Count == 0 && Along(l.Offset, vectorVar, v) == AccessKind.Vector)
                {
                    Line($"if ({ok}) fusion_load_vec<{v}>({_names[l.Buffer]} + ({l.Offset}), &{target}[{slot} * {v}]);");
                    Line($"else for (int e = 0; e < {v}; e++) {at} = 0.0f;");
                    return;
                }
                Line("#pragma unroll");
                using (Block($"for (int e = 0; e < {v}; e++)"))
                {
                    Line($"const fusion_index v{vectorVar} = s{vectorVar} + e;");
                    Line($"{at} = {ok}{guard} ? {ScalarLoad(l)} : {Literal(l.Otherwise)};");
                }
            }

            /// <summary>Elements a load brings per item: 1 when its address does not move along the vectorized variable.</summary>
            private int Width(LoadInstr l, int vectorVar, int v) =>
                v == 1 || (!l.Offset.Uses(vectorVar) && !l.Guard.Any(g => g.Expr.Uses(vectorVar))) ? 1 : v;

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
                        Line($"fusion_store_vec<{v}>({target} + ({st.Offset}), sv);");
                    }
                    return;
                }
                Line("#pragma unroll");
                using (Block($"for (int e = 0; e < {v}; e++)"))
                {
                    if (vectorVar >= 0) Line($"const fusion_index v{vectorVar} = s{vectorVar} + e;");
                    Line($"if ({ok}) fusion_store({target} + ({st.Offset}), {element(st.Value)});");
                }
            }

            private void Shuffle(ReduceInstr red, int lanes)
            {
                if (lanes <= 1) return;
                Line("#pragma unroll");
                Line($"for (int m = {lanes / 2}; m > 0; m >>= 1) a{red.Id} = {Combine(red.Kind, $"a{red.Id}", $"warp_shfl_xor(a{red.Id}, m)")};");
            }

            private AccessKind Along(IndexExpr offset, int variable, int width) => AccessPattern.Along(offset, variable, width, _k.VariableExtents);

            /// <summary>
            /// The vector width along a variable: the largest of 8, 4, 2 dividing its extent at which the accesses that move along it
            /// (the unguarded ones) all move as vectors; 1 when no width does.
            /// </summary>
            private int VectorWidth(int variable, long extent)
            {
                var offsets = _k.Body.Select(i => i switch
                {
                    LoadInstr l when l.Guard.Count == 0 => l.Offset,
                    StoreInstr s => s.Offset,
                    _ => null,
                }).Where(o => o is not null && o.Uses(variable)).ToList();
                foreach (int v in new[] { 8, 4, 2 })
                {
                    if (extent % v == 0 && offsets.All(o => Along(o!, variable, v) == AccessKind.Vector)) return v;
                }
                return 1;
            }

            private string Compute(Instr instr, Func<int, string> operand) => instr switch
            {
                OpInstr op => Expression(op.Op, op.Args.Select(operand).ToList()),
                PredicateInstr p => $"(({CudaKernelPrinter.Bounds(p.Bounds)}) ? 1.0f : 0.0f)",
                _ => throw new InvalidOperationException($"{instr.GetType().Name} is not computed"),
            };

            private void Line(string text = "")
            {
                if (text.Length > 0) _s.Append(' ', 4 * _indent).Append(text);
                _s.Append('\n');
            }

            private IDisposable Block(string head)
            {
                Line(head);
                Line("{");
                _indent++;
                return new Closer(this);
            }

            private sealed class Closer(Printer p) : IDisposable
            {
                public void Dispose()
                {
                    p._indent--;
                    p.Line("}");
                }
            }
        }
    }
}
