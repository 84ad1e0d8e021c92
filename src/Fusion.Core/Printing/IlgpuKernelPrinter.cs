using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// Prints a <see cref="LoopKernel"/> as an ILGPU kernel: a static C# method, explicitly grouped, on the same thread mapping as
    /// the CUDA C (<see cref="KernelMapping"/>), so the runtime launches either by one <see cref="LaunchShape"/>. ILGPU neither
    /// unrolls loops nor keeps local arrays in registers, so the printer unrolls every loop over items, chunks and vector elements
    /// itself and spells each register-array element as its own local (<c>ld3_1_5</c>: load 3, item or row 1, element 5); a
    /// nested block per element gives the vectorized variable its value. Consecutive elements move as vector structs (halves as
    /// packed pairs), the rest element by element through <c>ArrayView</c>s; guarded loads select rather than branch, and looped
    /// kernels take several chunks a trip (ILGPU keeps the C#'s shape, so the printer writes what nvcc would make of the CUDA C).
    /// Math goes through <c>Fusion.Ilgpu.KernelMath</c>, which matches the CUDA helpers' formulas. Index
    /// math is 32-bit (the runtime keeps the NVRTC kernel where a launch reaches 2³⁰ elements). The method needs these aliases
    /// in its file: IlgpuHalf, IlgpuGrid, IlgpuGroup, IlgpuWarp, IlgpuMath (see <see cref="FileAliases"/>).
    /// </summary>
    internal static class IlgpuKernelPrinter
    {
        /// <summary>The using aliases the printed methods rely on (a generated file puts them before its namespace).</summary>
        public static readonly string[] FileAliases =
        {
            "using IlgpuHalf = global::ILGPU.Half;",
            "using IlgpuGrid = global::ILGPU.Grid;",
            "using IlgpuGroup = global::ILGPU.Group;",
            "using IlgpuWarp = global::ILGPU.Warp;",
            "using IlgpuAtomic = global::ILGPU.Atomic;",
            "using IlgpuMath = global::Fusion.Ilgpu.KernelMath;",
            "using IlgpuHalf8 = global::Fusion.Ilgpu.Half8;",
            "using IlgpuHalf4 = global::Fusion.Ilgpu.Half4;",
            "using IlgpuHalf2 = global::Fusion.Ilgpu.Half2;",
            "using IlgpuFloat4 = global::Fusion.Ilgpu.Float4;",
            "using IlgpuFloat2 = global::Fusion.Ilgpu.Float2;",
            "using IlgpuAccumulator4 = global::Fusion.Ilgpu.Accumulator4;",
            "using IlgpuIntAccumulator4 = global::Fusion.Ilgpu.IntAccumulator4;",
            "using IlgpuFragment4 = global::Fusion.Ilgpu.Fragment4;",
            "using IlgpuTensorCore = global::Fusion.Ilgpu.TensorCore;",
        };

        /// <summary>
        /// The method's name: the kernel's, with the run's input/output type appended when the kernel has buffers of that type
        /// (one method per type, as the CUDA C is compiled once per type).
        /// </summary>
        public static string MethodName(LoopKernel kernel, FloatType io) =>
            kernel.UsesIoType ? kernel.Name + (io == FloatType.F16 ? "_io_f16" : "_io_f32") : kernel.Name;

        /// <summary>The io types a kernel is printed for: both when it has io buffers, else one (F32 stands for "none").</summary>
        public static IReadOnlyList<FloatType> IoVariants(LoopKernel kernel) =>
            kernel.UsesIoType ? new[] { FloatType.F32, FloatType.F16 } : new[] { FloatType.F32 };

        /// <summary>Every method of the kernel (one per io variant), each ending with a newline.</summary>
        public static string PrintAll(LoopKernel kernel) => string.Join("\n", IoVariants(kernel).Select(io => Print(kernel, io)));

        /// <summary>The method for one io type.</summary>
        public static string Print(LoopKernel kernel, FloatType io) => new Printer(kernel, io).Run();

        /// <summary>Whether a buffer of <paramref name="t"/> holds halves, io resolved to <paramref name="io"/>.</summary>
        private static bool IsHalf(FloatType t, FloatType io) => (t == FloatType.Io ? io : t) == FloatType.F16;

        /// <summary>The C# type of a buffer element of <paramref name="t"/>, io resolved to <paramref name="io"/>: FP8 codes are bytes.</summary>
        internal static string ElementType(FloatType t, FloatType io) => IsHalf(t, io) ? "IlgpuHalf" : t switch { FloatType.I8 => "sbyte", FloatType.F8 => "byte", _ => "float" };

        /// <summary>An element of a buffer of <paramref name="t"/> as a float: a half or int8 code converted, an FP8 code decoded.</summary>
        internal static string LoadedValue(FloatType t, FloatType io, string element) =>
            IsHalf(t, io) || t == FloatType.I8 ? $"(float){element}" : t == FloatType.F8 ? $"IlgpuMath.DecodeF8({element})" : element;

        /// <summary>
        /// A float as an element of a buffer of <paramref name="t"/>: rounded to a half; to an int8 code (nearest even, saturated), as the
        /// CUDA C store does (a value already rounded stays); to an FP8 E4M3 code (nearest even, saturated to ±448).
        /// </summary>
        internal static string StoredValue(FloatType t, FloatType io, string value) =>
            IsHalf(t, io) ? $"IlgpuMath.ToHalf({value})" : t switch
            {
                FloatType.I8 => $"(sbyte)IlgpuMath.RoundI8({value})",
                FloatType.F8 => $"(byte)IlgpuMath.EncodeF8({value})",
                _ => value,
            };

        /// <summary>A float32 literal in C#.</summary>
        public static string Literal(double v)
        {
            if (double.IsPositiveInfinity(v)) return "float.PositiveInfinity";
            if (double.IsNegativeInfinity(v)) return "float.NegativeInfinity";
            if (double.IsNaN(v)) return "float.NaN";
            return CFamilySyntax.FiniteLiteral(v);
        }

        /// <summary>The C# expression of an operation on already-named operands.</summary>
        public static string Expression(ScalarOp op, IReadOnlyList<string> a) => CFamilySyntax.Expression(op, a) ?? op switch
        {
            ScalarOp.Div => $"({a[0]} / {a[1]})",
            ScalarOp.Max => $"IlgpuMath.Max({a[0]}, {a[1]})",
            ScalarOp.Min => $"IlgpuMath.Min({a[0]}, {a[1]})",
            ScalarOp.Pow => $"IlgpuMath.Pow({a[0]}, {a[1]})",
            ScalarOp.Abs => $"IlgpuMath.Abs({a[0]})",
            ScalarOp.Exp => $"IlgpuMath.Exp({a[0]})",
            ScalarOp.Log => $"IlgpuMath.Log({a[0]})",
            ScalarOp.Sqrt => $"IlgpuMath.Sqrt({a[0]})",
            ScalarOp.Rsqrt => $"IlgpuMath.Rsqrt({a[0]})",
            ScalarOp.Tanh => $"IlgpuMath.Tanh({a[0]})",
            ScalarOp.Erf => $"IlgpuMath.Erf({a[0]})",
            ScalarOp.Gelu => $"IlgpuMath.Gelu({a[0]})",
            ScalarOp.GeluTanh => $"IlgpuMath.GeluTanh({a[0]})",
            ScalarOp.Recip => $"(1.0f / {a[0]})",
            ScalarOp.RoundF16 => $"IlgpuMath.RoundF16({a[0]})",
            ScalarOp.RoundI8 => $"IlgpuMath.RoundI8({a[0]})",
            ScalarOp.RoundF8 => $"IlgpuMath.RoundF8({a[0]})",
            ScalarOp.Where => $"({a[0]} != 0.0f ? {a[1]} : {a[2]})",
            _ => throw new InvalidOperationException($"no ILGPU spelling of {op}"),
        };

        private static string Init(ReduceKind kind) => kind switch
        {
            ReduceKind.Sum => "0.0f",
            ReduceKind.Max => "float.NegativeInfinity",
            _ => "float.PositiveInfinity",
        };

        private static string Combine(ReduceKind kind, string a, string b) => kind switch
        {
            ReduceKind.Sum => $"{a} + {b}",
            ReduceKind.Max => $"IlgpuMath.Max({a}, {b})",
            _ => $"IlgpuMath.Min({a}, {b})",
        };

        /// <summary>C#'s reserved words: a buffer named like one is written with '@'.</summary>
        private static readonly HashSet<string> s_keywords = new(StringComparer.Ordinal)
        {
            "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue", "decimal",
            "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally", "fixed", "float", "for",
            "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock", "long", "namespace", "new", "null",
            "object", "operator", "out", "override", "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte",
            "sealed", "short", "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
            "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
        };

        private static string Int(long v) => v.ToString(CultureInfo.InvariantCulture);

        private sealed class Printer
        {
            private const int Threads = KernelMapping.Threads;
            private readonly LoopKernel _k;
            private readonly FloatType _io;
            private readonly bool[] _perElement;
            private readonly int[] _phase;
            private readonly string[] _names;
            private readonly SourceBuilder _s = new();

            public Printer(LoopKernel kernel, FloatType io)
            {
                _k = kernel;
                _io = io;
                _perElement = LoopAnalysis.PerElement(kernel);
                _phase = LoopAnalysis.Phase(kernel);
                _names = KernelMapping.BufferNames(kernel).Select(n => s_keywords.Contains(n) ? "@" + n : n).ToArray();
            }

            public string Run()
            {
                var m = KernelMapping.Of(_k);
                Header(m);
                switch (m.Kind)
                {
                    case MappingKind.Pointwise:
                        Pointwise(m);
                        break;
                    case MappingKind.Row:
                        Row(m);
                        break;
                    case MappingKind.Strided:
                        Strided(m);
                        break;
                    default:
                        Looped(m);
                        break;
                }
                _s.Close();
                return _s.ToString();
            }

            // ---- pointwise -------------------------------------------------------------------------------------------

            private void Pointwise(KernelMapping m)
            {
                int n = _k.Domain.Count, inner = n - 1, v = m.Vector;
                var loads = _k.Body.OfType<LoadInstr>().ToList();
                Line($"int items = {Int(m.Launch.UnitsPerBatch)}{(m.Launch.Batched ? " * N" : "")};");
                Line($"int first = IlgpuGrid.IdxX * {Int(Threads * m.Items)} + IlgpuGroup.IdxX;");
                // Every load of every item first (the loads in flight), then the computation item by item.
                for (int k = 0; k < m.Items; k++)
                {
                    foreach (var j in Enumerable.Range(0, n)) Line($"int var{j}_{k};");
                    foreach (var l in loads) DeclareFloats($"ld{l.Id}_{k}", KernelMapping.Width(_k, l, inner, v));
                    using (Block($"// item {k}"))
                    {
                        Line($"int item = first + {Int((long)k * Threads)};");
                        Line("bool ok = item < items;");
                        Line("int rest = ok ? item : 0;");
                        Decompose(Enumerable.Range(0, n).ToList(), inner, v);
                        foreach (var j in Enumerable.Range(0, n)) Line($"var{j}_{k} = {(j == inner ? "s" : "v")}{j};");
                        // The item's values are used only where it is in range: a vector load past the end reads the first vector and
                        // keeps it (no select to zero it: one register and one SEL fewer an element, which mattered in the GELU epilogues).
                        foreach (var l in loads) LoadElements(l, inner, v, $"ld{l.Id}_{k}", "ok", zeroOutside: false);
                    }
                }
                for (int k = 0; k < m.Items; k++)
                {
                    using (Block($"if (first + {Int((long)k * Threads)} < items)"))
                    {
                        foreach (var j in Enumerable.Range(0, n)) Line($"int {(j == inner ? "s" : "v")}{j} = var{j}_{k};");
                        var ops = _k.Body.Where(i => i is OpInstr or PredicateInstr).ToList();
                        foreach (var op in ops) DeclareFloats($"t{op.Id}", v);
                        int kk = k;
                        string Ref(int id, int e) => _k.Body[id] switch
                        {
                            ConstInstr c => Literal(c.Value),
                            LoadInstr l => KernelMapping.Width(_k, l, inner, v) == 1 ? $"ld{id}_{kk}_0" : $"ld{id}_{kk}_{e}",
                            _ => $"t{id}_{e}",
                        };
                        var stores = _k.Body.OfType<StoreInstr>().ToList();
                        for (int e = 0; e < v; e++)
                        {
                            using (Block($"// element {e}"))
                            {
                                if (inner >= 0) Line($"int v{inner} = s{inner} + {e};");
                                int ee = e;
                                foreach (var op in ops) Line($"t{op.Id}_{e} = {Compute(op, id => Ref(id, ee))};");
                                foreach (var st in stores.Where(st => st.Accumulate || !IsVector(st.Buffer, st.Offset, inner, v))) Store(st, Ref(st.Value, e));
                            }
                        }
                        foreach (var st in stores.Where(st => !st.Accumulate && IsVector(st.Buffer, st.Offset, inner, v))) VectorStore(st, inner, v, e => Ref(st.Value, e));
                    }
                }
            }

            // ---- row (registers) -------------------------------------------------------------------------------------

            private void Row(KernelMapping m)
            {
                int r = _k.ReduceVar, v = m.Vector, lanes = m.Lanes, per = m.PerLane, unroll = m.Unroll;
                var rowVars = KernelMapping.RowVariables(_k);
                long chunks = _k.ReduceExtent / v;
                int groups = 32 / lanes;
                Line($"int rows = {Int(m.Launch.UnitsPerBatch)}{(m.Launch.Batched ? " * N" : "")};");
                Line($"int lane = IlgpuGroup.IdxX & 31, sub = lane % {lanes};");
                Line($"int first = ((IlgpuGrid.IdxX * {KernelMapping.Warps} + (IlgpuGroup.IdxX >> 5)) * {groups} + lane / {lanes}) * {unroll};");
                var loads = _k.Body.OfType<LoadInstr>().ToList();
                // A per-element load whose address depends on no row variable (a LayerNorm's weight and bias) is the same for every
                // row of the lane group: loaded once, by the first row's code, wherever the chunk exists (nvcc merges those loads
                // itself; ILGPU keeps one per row).
                var shared = new HashSet<int>(loads.Where(l => _perElement[l.Id] && l.Guard.Count == 0 && !rowVars.Any(j => l.Offset.Uses(j))).Select(l => l.Id));
                for (int u = 0; u < unroll; u++)
                {
                    foreach (var j in rowVars) Line($"int var{j}_{u};");
                    Line($"bool okRow_{u};");
                    foreach (var l in loads.Where(l => u == 0 || !shared.Contains(l.Id))) DeclareFloats($"ld{l.Id}_{u}", _perElement[l.Id] ? per * v : 1);
                    using (Block($"// row {u} of the lane group: its loads"))
                    {
                        Line($"int row = first + {u};");
                        Line($"okRow_{u} = row < rows;");
                        Line($"int rest = okRow_{u} ? row : 0;");
                        Decompose(rowVars, -1, 1);
                        foreach (var j in rowVars) Line($"var{j}_{u} = v{j};");
                        foreach (var l in loads.Where(l => !_perElement[l.Id]))
                            Line($"ld{l.Id}_{u}_0 = {GuardedLoad(l, $"okRow_{u}")};");
                        var elementLoads = loads.Where(l => _perElement[l.Id] && (u == 0 || !shared.Contains(l.Id))).ToList();
                        for (int c = 0; c < per && elementLoads.Count > 0; c++)
                        {
                            using (Block($"// chunk {c}"))
                            {
                                Line($"int chunk = {c * lanes} + sub;");
                                Line($"bool ok = okRow_{u} && chunk < {Int(chunks)};");
                                if (elementLoads.Any(l => shared.Contains(l.Id))) Line($"bool okChunk = chunk < {Int(chunks)};");
                                Line($"int s{r} = chunk * {v};");
                                foreach (var l in elementLoads) LoadElements(l, r, v, $"ld{l.Id}_{u}", shared.Contains(l.Id) ? "okChunk" : "ok", c * v);
                            }
                        }
                    }
                }
                for (int u = 0; u < unroll; u++)
                {
                    using (Block($"// row {u} of the lane group: its computation"))
                    {
                        foreach (var j in rowVars) Line($"int v{j} = var{j}_{u};");
                        int uu = u;
                        string Element(int id, int i) => _k.Body[id] switch
                        {
                            ConstInstr c => Literal(c.Value),
                            LoadInstr => _perElement[id] ? $"ld{id}_{(shared.Contains(id) ? 0 : uu)}_{i}" : $"ld{id}_{uu}_0",
                            _ => _perElement[id] ? $"t{id}_{i}" : $"t{id}",
                        };
                        foreach (var instr in _k.Body)
                        {
                            switch (instr)
                            {
                                case OpInstr or PredicateInstr when _perElement[instr.Id]:
                                    DeclareFloats($"t{instr.Id}", per * v);
                                    for (int c = 0; c < per; c++)
                                        for (int e = 0; e < v; e++)
                                        {
                                            int i = c * v + e;
                                            using (Block($"// chunk {c}, element {e}"))
                                            {
                                                Line($"int v{r} = ({c * lanes} + sub) * {v} + {e};");
                                                Line($"t{instr.Id}_{i} = {Compute(instr, id => Element(id, i))};");
                                            }
                                        }
                                    break;
                                case OpInstr or PredicateInstr:
                                    Line($"float t{instr.Id} = {Compute(instr, id => Element(id, 0))};");
                                    break;
                                case ReduceInstr red:
                                    Line($"float a{red.Id} = {Init(red.Kind)};");
                                    for (int c = 0; c < per; c++)
                                    {
                                        var terms = Enumerable.Range(0, v).Select(e => Element(red.Arg, c * v + e));
                                        string body = string.Join("; ", terms.Select(t => $"a{red.Id} = {Combine(red.Kind, $"a{red.Id}", t)}")) + ";";
                                        Line(c * lanes < chunks && (c + 1) * lanes <= chunks ? body : $"if ({c * lanes} + sub < {Int(chunks)}) {{ {body} }}");
                                    }
                                    Shuffle(red, lanes);
                                    Line($"float t{red.Id} = a{red.Id};");
                                    break;
                                case StoreInstr st when st.Offset.Uses(r):
                                    using (Block($"if (okRow_{u})"))
                                    {
                                        for (int c = 0; c < per; c++)
                                        {
                                            using (Block($"if ({c * lanes} + sub < {Int(chunks)})"))
                                            {
                                                Line($"int s{r} = ({c * lanes} + sub) * {v};");
                                                int cc = c;
                                                if (IsVector(st.Buffer, st.Offset, r, v))
                                                {
                                                    VectorStore(st, r, v, e => Element(st.Value, cc * v + e));
                                                    continue;
                                                }
                                                for (int e = 0; e < v; e++)
                                                {
                                                    using (Block($"// element {e}"))
                                                    {
                                                        Line($"int v{r} = s{r} + {e};");
                                                        Store(st, Element(st.Value, c * v + e));
                                                    }
                                                }
                                            }
                                        }
                                    }
                                    break;
                                case StoreInstr st:
                                    using (Block($"if (okRow_{u} && sub == 0)")) Store(st, Element(st.Value, 0));
                                    break;
                            }
                        }
                    }
                }
            }

            // ---- looped ---------------------------------------------------------------------------------------------

            private void Looped(KernelMapping m)
            {
                int r = _k.ReduceVar, lanes = m.Lanes, vector = m.Vector;
                var rowVars = KernelMapping.RowVariables(_k);
                long chunks = _k.ReduceExtent / vector;
                Line($"int rows = {Int(m.Launch.UnitsPerBatch)}{(m.Launch.Batched ? " * N" : "")};");
                Line($"int row = (IlgpuGrid.IdxX * {Threads} + IlgpuGroup.IdxX) / {lanes};");
                Line($"int sub = IlgpuGroup.IdxX % {lanes};");
                Line("if (row >= rows) return; // the lanes of a row are one warp (or one thread): they leave together");
                Line("int rest = row;");
                Decompose(rowVars, -1, 1);
                void RowLevel(List<Instr> values)
                {
                    foreach (var instr in values)
                        Line(instr is LoadInstr l ? $"float ld{l.Id} = {GuardedLoad(l, ok: null)};" : $"float t{instr.Id} = {Compute(instr, id => LoopRef(id, 0))};");
                }
                var passes = LoopAnalysis.LoopedPasses(_k, _perElement, _phase, out var after);
                foreach (var (rowLevel, reductions) in passes)
                {
                    RowLevel(rowLevel);
                    foreach (var red in reductions) Line($"float a{red.Id} = {Init(red.Kind)};");
                    ChunkLoop(Needed(reductions.Select(red => red.Arg)), r, vector, lanes, chunks, copy =>
                    {
                        foreach (var red in reductions)
                            for (int e = 0; e < vector; e++) Line($"a{red.Id} = {Combine(red.Kind, $"a{red.Id}", LoopRef(red.Arg, e, copy))};");
                    });
                    foreach (var red in reductions) Shuffle(red, lanes);
                }
                RowLevel(after);
                var elementStores = _k.Body.OfType<StoreInstr>().Where(st => st.Offset.Uses(r)).ToList();
                if (elementStores.Count > 0)
                {
                    ChunkLoop(Needed(elementStores.Select(st => st.Value)), r, vector, lanes, chunks, copy =>
                    {
                        foreach (var st in elementStores.Where(st => IsVector(st.Buffer, st.Offset, r, vector))) VectorStore(st, r, vector, e => LoopRef(st.Value, e, copy));
                        var scalarStores = elementStores.Where(st => !IsVector(st.Buffer, st.Offset, r, vector)).ToList();
                        for (int e = 0; e < vector && scalarStores.Count > 0; e++)
                        {
                            using (Block($"// element {e}"))
                            {
                                Line($"int v{r} = s{r} + {e};");
                                foreach (var st in scalarStores) Store(st, LoopRef(st.Value, e, copy));
                            }
                        }
                    });
                }
                foreach (var st in _k.Body.OfType<StoreInstr>().Where(st => !st.Offset.Uses(r)))
                    using (Block("if (sub == 0)")) Store(st, LoopRef(st.Value, 0));
            }

            // ---- strided (a thread per output vector) ------------------------------------------------------------------

            /// <summary>
            /// The CUDA printer's strided mapping: a thread takes V outputs along the innermost row variable j (s_j the first), each
            /// value is V locals (element e at v_j = s_j + e), and the walk over the reduced axis takes several steps a trip with
            /// every load first (<see cref="LoopUnroll"/>), since ILGPU neither unrolls loops nor hoists loads.
            /// </summary>
            private void Strided(KernelMapping m)
            {
                if (SlidingWalk.Applies(m))
                {
                    Sliding(m);
                    return;
                }
                int r = _k.ReduceVar, v = m.Vector;
                int j = KernelMapping.OutputVariable(_k);
                long steps = _k.ReduceExtent;
                ThreadUnit(m.Launch);
                Decompose(KernelMapping.RowVariables(_k), j, v);
                var passes = LoopAnalysis.LoopedPasses(_k, _perElement, _phase, out var after);
                foreach (var (rowLevel, reductions) in passes)
                {
                    StridedLoads(rowLevel.Select(i => i.Id), j, v, "");
                    StridedOps(rowLevel.Select(i => i.Id), j, v, "");
                    foreach (var red in reductions) Line($"float {string.Join(", ", Enumerable.Range(0, v).Select(e => $"a{red.Id}_{e} = {Init(red.Kind)}"))};");
                    StepLoop(Needed(reductions.Select(red => red.Arg)), r, j, v, steps, copy =>
                    {
                        foreach (var red in reductions)
                            for (int e = 0; e < v; e++) Line($"a{red.Id}_{e} = {Combine(red.Kind, $"a{red.Id}_{e}", StridedRef(red.Arg, j, v, e, copy))};");
                    });
                }
                StridedLoads(after.Select(i => i.Id), j, v, "");
                StridedOps(after.Select(i => i.Id), j, v, "");
                var elementStores = _k.Body.OfType<StoreInstr>().Where(st => st.Offset.Uses(r)).ToList();
                if (elementStores.Count > 0)
                    StepLoop(Needed(elementStores.Select(st => st.Value)), r, j, v, steps,
                        copy => StridedStores(elementStores, j, v, (st, e) => StridedRef(st.Value, j, v, e, copy)));
                StridedStores(_k.Body.OfType<StoreInstr>().Where(st => !st.Offset.Uses(r)).ToList(), j, v, (st, e) => StridedRef(st.Value, j, v, e, ""));
            }

            /// <summary>
            /// The CUDA printer's sliding strided walk (<see cref="SlidingWalk"/>): straight-line code, every value V locals w…_e computed
            /// once (v_slide is the thread's first pixel; every index already has its pixel and step in it), each pixel's accumulators
            /// a…_p_e.
            /// </summary>
            private void Sliding(KernelMapping m)
            {
                int v = m.Vector;
                int j = KernelMapping.OutputVariable(_k), i = KernelMapping.SlideVariable(_k);
                ThreadUnit(m.Launch);
                Decompose(KernelMapping.RowVariables(_k), j, v, i, m.Slide);
                string Ref(SlidingWalk.Operand o, int e) => o switch
                {
                    SlidingWalk.Literal c => Literal(c.Value),
                    SlidingWalk.Accumulator a => $"a{a.Reduction}_{a.Pixel}_{e}",
                    SlidingWalk.Slot w => $"w{w.Index}_{(w.Wide ? e : 0)}",
                    _ => throw new InvalidOperationException($"no value {o}"),
                };
                foreach (var action in new SlidingWalk(_k, m).Actions)
                {
                    switch (action)
                    {
                        case SlidingWalk.Compute { At: LoadInstr l } c:
                            DeclareFloats($"w{c.Target.Index}", KernelMapping.Width(_k, l, j, v));
                            LoadElements(l, j, v, $"w{c.Target.Index}", ok: null);
                            break;
                        case SlidingWalk.Compute { At: OpInstr op } c:
                            DeclareFloats($"w{c.Target.Index}", v);
                            for (int e = 0; e < v; e++) Line($"w{c.Target.Index}_{e} = {Expression(op.Op, c.Args.Select(a => Ref(a, e)).ToList())};");
                            break;
                        case SlidingWalk.Compute c:
                            DeclareFloats($"w{c.Target.Index}", v);
                            for (int e = 0; e < v; e++)
                                using (Block($"// element {e}")) { Line($"int v{j} = s{j} + {e};"); Line($"w{c.Target.Index}_{e} = {Compute(c.At, _ => "")};"); }
                            break;
                        case SlidingWalk.Begin b:
                            Line($"float {string.Join(", ", Enumerable.Range(0, v).Select(e => $"a{b.Reduction.Id}_{b.Pixel}_{e} = {Init(b.Reduction.Kind)}"))};");
                            break;
                        case SlidingWalk.Accumulate a:
                            for (int e = 0; e < v; e++)
                                Line($"a{a.Reduction.Id}_{a.Pixel}_{e} = {Combine(a.Reduction.Kind, $"a{a.Reduction.Id}_{a.Pixel}_{e}", Ref(a.Value, e))};");
                            break;
                        case SlidingWalk.Store st:
                            StridedStores(new[] { st.At }, j, v, (_, e) => Ref(st.Value, e));
                            break;
                    }
                }
            }

            /// <summary>A strided kernel's thread is one unit of the launch: past the last it leaves, else 'rest' is its index.</summary>
            private void ThreadUnit(LaunchShape launch)
            {
                Line($"int threads = {Int(launch.UnitsPerBatch)}{(launch.Batched ? " * N" : "")};");
                Line($"int thread = IlgpuGrid.IdxX * {launch.Threads} + IlgpuGroup.IdxX;");
                Line("if (thread >= threads) return;");
                Line("int rest = thread;");
            }

            /// <summary>The strided walk over the reduced axis: <see cref="LoopUnroll"/> steps a trip (all their loads, then their use), then the rest.</summary>
            private void StepLoop(IReadOnlyCollection<int> ids, int r, int j, int v, long steps, Action<string> use)
            {
                var loadCount = ids.Count(id => _k.Body[id] is LoadInstr);
                int unroll = LoopUnroll(loadCount, v);
                void Trip(IReadOnlyList<string> copies)
                {
                    foreach (var copy in copies) DeclareLoads(ids, j, v, copy);
                    for (int c = 0; c < copies.Count; c++)
                        using (Block($"// step {c} of the trip: its loads")) { Line($"int v{r} = step + {c};"); StridedLoads(ids, j, v, copies[c], declare: false); }
                    for (int c = 0; c < copies.Count; c++)
                        using (Block($"// step {c} of the trip: its use")) { Line($"int v{r} = step + {c};"); StridedOps(ids, j, v, copies[c]); use(copies[c]); }
                }
                using var scope = Block("// the reduced axis, step by step");
                Line("int step = 0;");
                if (steps >= unroll)
                    using (Block($"for (; step + {unroll - 1} < {Int(steps)}; step += {unroll})")) Trip(Enumerable.Range(0, unroll).Select(c => $"c{c}_").ToList());
                using (Block($"for (; step < {Int(steps)}; step++)")) Trip(new[] { "" });
            }

            /// <summary>Loads the loads among <paramref name="ids"/> (V locals each; one where it does not move along j), declaring them first unless told.</summary>
            private void StridedLoads(IEnumerable<int> ids, int j, int v, string copy, bool declare = true)
            {
                if (declare) DeclareLoads(ids, j, v, copy);
                foreach (var l in ids.OrderBy(i => i).Select(id => _k.Body[id]).OfType<LoadInstr>()) LoadElements(l, j, v, $"x{copy}{l.Id}", ok: null);
            }

            private void DeclareLoads(IEnumerable<int> ids, int j, int v, string copy)
            {
                foreach (var l in ids.OrderBy(i => i).Select(id => _k.Body[id]).OfType<LoadInstr>()) DeclareFloats($"x{copy}{l.Id}", KernelMapping.Width(_k, l, j, v));
            }

            /// <summary>Declares and computes the operations among <paramref name="ids"/>, element by element.</summary>
            private void StridedOps(IEnumerable<int> ids, int j, int v, string copy)
            {
                var ops = ids.OrderBy(i => i).Where(id => _k.Body[id] is not LoadInstr).ToList();
                foreach (var id in ops) DeclareFloats($"x{copy}{id}", v);
                for (int e = 0; e < v && ops.Count > 0; e++)
                {
                    using (Block($"// element {e}"))
                    {
                        if (j >= 0) Line($"int v{j} = s{j} + {e};");
                        foreach (var id in ops) Line($"x{copy}{id}_{e} = {Compute(_k.Body[id], a => StridedRef(a, j, v, e, copy))};");
                    }
                }
            }

            /// <summary>Stores V values of each store along j (<paramref name="value"/> gives element e): a vector where the address allows, else element by element.</summary>
            private void StridedStores(IReadOnlyList<StoreInstr> stores, int j, int v, Func<StoreInstr, int, string> value)
            {
                foreach (var st in stores.Where(st => IsVector(st.Buffer, st.Offset, j, v))) VectorStore(st, j, v, e => value(st, e));
                var scalar = stores.Where(st => !IsVector(st.Buffer, st.Offset, j, v)).ToList();
                for (int e = 0; e < v && scalar.Count > 0; e++)
                {
                    using (Block($"// element {e}"))
                    {
                        if (j >= 0) Line($"int v{j} = s{j} + {e};");
                        foreach (var st in scalar) Store(st, value(st, e));
                    }
                }
            }

            /// <summary>Element e of a value in a strided kernel: row values and reductions have no copy tag (they are outside the walk).</summary>
            private string StridedRef(int id, int j, int v, int e, string copy) => _k.Body[id] switch
            {
                ConstInstr c => Literal(c.Value),
                ReduceInstr => $"a{id}_{e}",
                LoadInstr l => $"x{(_perElement[id] ? copy : "")}{id}_{(KernelMapping.Width(_k, l, j, v) == 1 ? 0 : e)}",
                _ => $"x{(_perElement[id] ? copy : "")}{id}_{e}",
            };

            /// <summary>
            /// Inside a looped kernel's chunk loop (element values x…_e of chunk copy <paramref name="copy"/>) or after it (row
            /// values, reductions a…).
            /// </summary>
            private string LoopRef(int id, int e, string copy = "") => _k.Body[id] switch
            {
                ConstInstr c => Literal(c.Value),
                ReduceInstr => $"a{id}",
                LoadInstr => _perElement[id] ? $"x{copy}{id}_{e}" : $"ld{id}",
                _ => _perElement[id] ? $"x{copy}{id}_{e}" : $"t{id}",
            };

            /// <summary>
            /// Chunks a trip of a looped kernel's unrolled loop, whose loads are issued before any is used: about 16 loaded values in
            /// flight a lane (16 chunks of one scalar, as the final mean's column walk has; 4 of a vector of 8 or several loads), at
            /// least 4.
            /// </summary>
            private static int LoopUnroll(int loads, int vector) => Math.Max(4, Math.Min(16, 16 / Math.Max(1, loads * vector)));

            /// <summary>
            /// A looped kernel's walk over its chunks (<paramref name="lanes"/> apart, from 'sub'): the element values
            /// <paramref name="ids"/> of each chunk, then <paramref name="use"/> (given the chunk's copy tag, with s_r its first
            /// element). ILGPU does not unroll loops, and a load a trip leaves one load in flight a thread, so where a lane has
            /// enough chunks the loop takes several a trip (<see cref="LoopUnroll"/>), every load first, and uses them in order
            /// (the same order of reduction as one at a time); the rest follow one at a time.
            /// </summary>
            private void ChunkLoop(IReadOnlyCollection<int> ids, int r, int vector, int lanes, long chunks, Action<string> use)
            {
                var ordered = ids.OrderBy(i => i).ToList();
                var loads = ordered.Select(id => _k.Body[id]).OfType<LoadInstr>().ToList();
                var ops = ordered.Where(id => _k.Body[id] is not LoadInstr).ToList();
                void Declare(string copy)
                {
                    foreach (var id in ordered) DeclareFloats($"x{copy}{id}", vector);
                }
                void Load(string copy)
                {
                    foreach (var l in loads) LoadElements(l, r, vector, $"x{copy}{l.Id}", ok: null);
                }
                void Compute(string copy)
                {
                    for (int e = 0; e < vector && ops.Count > 0; e++)
                    {
                        using (Block($"// element {e}"))
                        {
                            Line($"int v{r} = s{r} + {e};");
                            foreach (var id in ops) Line($"x{copy}{id}_{e} = {Printer.Compute(_k.Body[id], a => LoopRef(a, e, copy))};");
                        }
                    }
                    use(copy);
                }
                using var scope = Block("// the chunks, from this lane's first");
                Line("int chunk = sub;");
                int unroll = LoopUnroll(loads.Count, vector);
                if (chunks >= (long)unroll * lanes)
                {
                    using (Block($"for (; chunk + {Int((long)(unroll - 1) * lanes)} < {Int(chunks)}; chunk += {Int((long)unroll * lanes)})"))
                    {
                        var copies = Enumerable.Range(0, unroll).Select(c => $"c{c}_").ToList();
                        foreach (var copy in copies) Declare(copy);
                        for (int c = 0; c < unroll; c++)
                            using (Block($"// chunk {c} of the trip: its loads")) { Line($"int s{r} = (chunk + {c * lanes}) * {vector};"); Load(copies[c]); }
                        for (int c = 0; c < unroll; c++)
                            using (Block($"// chunk {c} of the trip: its use")) { Line($"int s{r} = (chunk + {c * lanes}) * {vector};"); Compute(copies[c]); }
                    }
                }
                using (Block($"for (; chunk < {Int(chunks)}; chunk += {lanes})"))
                {
                    Line($"int s{r} = chunk * {vector};");
                    Declare("");
                    Load("");
                    Compute("");
                }
            }

            private HashSet<int> Needed(IEnumerable<int> roots) => LoopAnalysis.ElementClosure(_k, _perElement, roots);

            /// <summary>
            /// A load where <paramref name="ok"/> (a bool variable, or null) and the load's guard hold, its other value elsewhere.
            /// Branch-free: the load reads element 0 where the condition fails and a select picks the other value, so ptxas sees
            /// one block and keeps every load in flight (a C# conditional around the load becomes a branch each in ILGPU's PTX).
            /// </summary>
            private string GuardedLoad(LoadInstr l, string? ok)
            {
                if (LoadCondition(l, ok) is not { } condition) return ScalarLoad(l, l.Offset.ToString());
                return $"IlgpuMath.Select({condition}, {ScalarLoad(l, $"IlgpuMath.Select({condition}, {l.Offset}, 0)")}, {Literal(l.Otherwise)})";
            }

            /// <summary>When a load reads: <paramref name="ok"/> (a bool variable, or null) and the load's guard; null when always.</summary>
            private static string? LoadCondition(LoadInstr l, string? ok)
            {
                var conditions = new List<string>();
                if (ok is not null) conditions.Add(ok);
                if (l.Guard.Count > 0) conditions.Add($"({CudaKernelPrinter.Bounds(l.Guard)})");
                return conditions.Count == 0 ? null : string.Join(" && ", conditions);
            }

            // ---- shared pieces ---------------------------------------------------------------------------------------

            private void Header(KernelMapping m)
            {
                Line($"/// <summary>{_k.Name}{(_k.UsesIoType ? $" with io = {_io.Short()}" : "")}: generated by Fusion from the loop IR, "
                    + $"{m.Kind.ToString().ToLowerInvariant()} mapping; launch: {m.Launch}.</summary>");
                var parameters = _k.Buffers.Select((b, i) => $"global::ILGPU.ArrayView<{ElementType(b.Type, _io)}> {_names[i]}").Concat(new[] { "int batch" });
                Line($"internal static void {MethodName(_k, _io)}({string.Join(", ", parameters)})");
                Line("{");
                _s.Indent();
                Line("int N = batch;");
            }

            /// <summary>
            /// Declares v_j for <paramref name="vars"/> from 'rest' (innermost first); the vectorized one as s_j, its first element, and
            /// the slide variable (a sliding strided walk's first pixel) in steps of <paramref name="slide"/>.
            /// </summary>
            private void Decompose(List<int> vars, int vectorVar, int v, int slideVar = -1, int slide = 1)
            {
                for (int i = vars.Count - 1; i >= 0; i--)
                {
                    int j = vars[i];
                    var extent = _k.Domain[j];
                    bool vectorized = j == vectorVar;
                    int step = vectorized ? v : j == slideVar ? slide : 1;
                    string size = step > 1 ? Int(extent.Value / step) : extent.Dynamic ? $"({Int(extent.Value)} * N)" : Int(extent.Value);
                    string value = i == 0 ? "rest" : $"rest % {size}";
                    Line($"int {(vectorized ? "s" : "v")}{j} = {(step > 1 ? $"({value}) * {step}" : value)};");
                    if (i > 0) Line($"rest /= {size};");
                }
            }

            /// <summary>
            /// Loads the elements of <paramref name="l"/> along the vectorized variable into target_(first + e): where the condition
            /// <paramref name="ok"/> holds (its other value where it does not), or always when it is null.
            /// </summary>
            private void LoadElements(LoadInstr l, int vectorVar, int v, string target, string? ok, int first = 0, bool zeroOutside = true)
            {
                int width = KernelMapping.Width(_k, l, vectorVar, v);
                // A guard that does not move along the vector (a convolution's padding, read channels-last) holds for all of it.
                if (width > 1 && !l.Guard.Any(g => g.Expr.Uses(vectorVar)) && IsVector(l.Buffer, l.Offset, vectorVar, v))
                {
                    VectorLoad(l, vectorVar, v, target, ok, first, zeroOutside);
                    return;
                }
                for (int e = 0; e < width; e++)
                {
                    using (Block($"// element {e}"))
                    {
                        if (vectorVar >= 0) Line($"int v{vectorVar} = s{vectorVar} + {e};");
                        Line($"{target}_{first + e} = {GuardedLoad(l, ok)};");
                    }
                }
            }

            /// <summary>Whether <paramref name="offset"/> moves as whole vectors of <paramref name="v"/> along the vectorized variable.</summary>
            private bool IsVector(int buffer, IndexExpr offset, int vectorVar, int v) =>
                v > 1 && vectorVar >= 0 && !IsByte(buffer) && AccessPattern.Along(offset, vectorVar, v, _k.VariableExtents) == AccessKind.Vector;

            /// <summary>Whether the buffer holds int8 or FP8 codes: read and written one element at a time (no byte vectors yet).</summary>
            private bool IsByte(int buffer) => _k.Buffers[buffer].Type.IsCode();

            /// <summary>
            /// The vector struct(s) covering <paramref name="v"/> elements of a buffer of <paramref name="half"/>s: its alias, elements a
            /// struct, structs (two Float4 for eight floats).
            /// </summary>
            private static (string Type, int Lanes, int Count) VectorOf(bool half, int v) => (half, v) switch
            {
                (true, 8) => ("IlgpuHalf8", 8, 1),
                (true, 4) => ("IlgpuHalf4", 4, 1),
                (true, _) => ("IlgpuHalf2", 2, 1),
                (false, 8) => ("IlgpuFloat4", 4, 2),
                (false, 4) => ("IlgpuFloat4", 4, 1),
                _ => ("IlgpuFloat2", 2, 1),
            };

            private bool IsHalf(int buffer) => IlgpuKernelPrinter.IsHalf(_k.Buffers[buffer].Type, _io);

            /// <summary>
            /// v elements of a vector load into target_(first + e), in v / lanes struct loads; where <paramref name="ok"/> fails
            /// the load reads the buffer's first vector, branch-free as in <see cref="GuardedLoad"/>, and the elements are 0 when
            /// <paramref name="zeroOutside"/> (a reduction adds them), else whatever it read (a caller that never uses them).
            /// </summary>
            private void VectorLoad(LoadInstr l, int vectorVar, int v, string target, string? ok, int first, bool zeroOutside)
            {
                bool half = IsHalf(l.Buffer);
                var (type, lanes, count) = VectorOf(half, v);
                string? condition = LoadCondition(l, ok);
                string? outside = l.Guard.Count > 0 ? Literal(l.Otherwise) : zeroOutside ? "0.0f" : null;
                using (Block($"// elements 0–{v - 1} in {count} vector load{(count > 1 ? "s" : "")}"))
                {
                    Line($"int v{vectorVar} = s{vectorVar};");
                    for (int c = 0; c < count; c++)
                    {
                        string index = $"({l.Offset}) / {lanes}{(c > 0 ? $" + {c}" : "")}";
                        Line($"var q{c} = {_names[l.Buffer]}.Cast<{type}>()[{(condition is null ? index : $"IlgpuMath.Select({condition}, {index}, 0)")}];");
                        for (int e = 0; e < lanes; e++)
                        {
                            string value = VectorElement(half, $"q{c}", e);
                            Line($"{target}_{first + c * lanes + e} = {(condition is null || outside is null ? value : $"IlgpuMath.Select({condition}, {value}, {outside})")};");
                        }
                    }
                }
            }

            /// <summary>Element <paramref name="e"/> of vector struct <paramref name="q"/> as a float (halves are packed pairs).</summary>
            private static string VectorElement(bool half, string q, int e) =>
                half ? $"IlgpuMath.{(e % 2 == 0 ? "Low" : "High")}({q}.P{e / 2})" : $"{q}.E{e}";

            /// <summary>v values (<paramref name="value"/> of each element) stored as v / lanes vectors at the chunk's first element.</summary>
            private void VectorStore(StoreInstr st, int vectorVar, int v, Func<int, string> value)
            {
                bool half = IsHalf(st.Buffer);
                var (type, lanes, count) = VectorOf(half, v);
                using (Block($"// elements 0–{v - 1} in {count} vector store{(count > 1 ? "s" : "")}"))
                {
                    Line($"int v{vectorVar} = s{vectorVar};");
                    for (int c = 0; c < count; c++)
                    {
                        var fields = half
                            ? Enumerable.Range(0, lanes / 2).Select(p => $"P{p} = IlgpuMath.Pack({value(c * lanes + 2 * p)}, {value(c * lanes + 2 * p + 1)})")
                            : Enumerable.Range(0, lanes).Select(e => $"E{e} = {value(c * lanes + e)}");
                        Line($"{_names[st.Buffer]}.Cast<{type}>()[({st.Offset}) / {lanes}{(c > 0 ? $" + {c}" : "")}] = new {type} {{ {string.Join(", ", fields)} }};");
                    }
                }
            }

            private void DeclareFloats(string name, int count) => Line("float " + string.Join(", ", Enumerable.Range(0, count).Select(i => $"{name}_{i}")) + ";");

            private string ScalarLoad(LoadInstr l, string index) => LoadedValue(_k.Buffers[l.Buffer].Type, _io, $"{_names[l.Buffer]}[{index}]");

            private void Store(StoreInstr st, string value)
            {
                if (st.Accumulate)
                {
                    // An accumulating store adds into a float32 buffer the launcher cleared (ILGPU's atomic add; PTX red.add where the result is unused).
                    Line($"IlgpuAtomic.Add(ref {_names[st.Buffer]}[{st.Offset}], {value});");
                    return;
                }
                Line($"{_names[st.Buffer]}[{st.Offset}] = {StoredValue(_k.Buffers[st.Buffer].Type, _io, value)};");
            }

            private void Shuffle(ReduceInstr red, int lanes)
            {
                for (int m = lanes / 2; m > 0; m >>= 1)
                    Line($"a{red.Id} = {Combine(red.Kind, $"a{red.Id}", $"IlgpuWarp.ShuffleXor(a{red.Id}, {m})")};");
            }

            private static string Compute(Instr instr, Func<int, string> operand) => instr switch
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
