using System.Globalization;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// Prints a template's generated epilogue for its ILGPU version (the GEMM's, the window attention's): a method
    /// <c>METHOD_at(row, col, acc0, acc1, pair, batch, e…)</c> that takes the template's results at one column pair of a row and runs
    /// the epilogue's loop IR there, the accumulator load replaced by the value; plus the names, parameters and arguments of the
    /// epilogue's buffers the template's method passes through. Buffers are named e0, e1, … (their own names could be any of the
    /// template's locals, a residual called x).
    /// </summary>
    internal static class IlgpuEpiloguePrinter
    {
        /// <summary>The template method's name: <paramref name="name"/>, with the io type appended when its epilogue has io buffers.</summary>
        public static string MethodName(string name, LoopKernel? epilogue, FloatType io) =>
            epilogue?.UsesIoType == true ? name + (io == FloatType.F16 ? "_io_f16" : "_io_f32") : name;

        /// <summary>The io types a template with <paramref name="epilogue"/> is printed for (one, F32, without an epilogue).</summary>
        public static System.Collections.Generic.IReadOnlyList<FloatType> IoVariants(LoopKernel? epilogue) =>
            epilogue is null ? new[] { FloatType.F32 } : IlgpuKernelPrinter.IoVariants(epilogue);

        /// <summary>", ArrayView&lt;T&gt; e1, …": the epilogue's buffers other than the accumulator, as method parameters.</summary>
        public static string Parameters(LoopKernel k, FloatType io) =>
            string.Concat(Buffers(k).Select(b => $", global::ILGPU.ArrayView<{IlgpuKernelPrinter.ElementType(k.Buffers[b].Type, io)}> e{I(b)}"));

        /// <summary>", e1, …": the same buffers as arguments.</summary>
        public static string Arguments(LoopKernel k) => string.Concat(Buffers(k).Select(b => ", e" + I(b)));

        private static System.Collections.Generic.IEnumerable<int> Buffers(LoopKernel k) =>
            Enumerable.Range(0, k.Buffers.Count).Where(b => k.Buffers[b].Role != BufferRole.Accumulator);

        private static string[] Names(LoopKernel k) => Enumerable.Range(0, k.Buffers.Count).Select(b => "e" + I(b)).ToArray();

        /// <summary>
        /// The epilogue at one column pair of a row: (row, col) and, when <c>pair</c>, (row, col + 1), with the accumulators' values,
        /// then its loop-IR body. Where every access moves in pairs along the columns (N even, each load and store consecutive in the
        /// column or not depending on it) a full pair loads and stores as 4- or 8-byte vectors, as the CUDA template's epilogue does;
        /// otherwise element by element.
        /// </summary>
        public static void Print(SourceBuilder s, LoopKernel k, FloatType io, string method)
        {
            var names = Names(k);
            string parameters = Parameters(k, io);
            int n = k.Domain.Count, col = n - 1;
            var extents = k.VariableExtents;
            s.Line($"/// <summary>The epilogue of {method} ({k.Name}) at columns col and col + 1 (when pair) of a row.</summary>");
            s.Line("[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]");
            s.Line($"private static void {method}_at(int row, int col, float acc0, float acc1, bool pair, int batch{parameters})");
            s.Line("{");
            s.Indent();
            s.Line("int N = batch;");
            s.Line("int rest = row;");
            for (int j = n - 2; j >= 0; j--)
            {
                var extent = CudaKernelPrinter.Extent(k.Domain[j]);
                s.Line($"int v{I(j)} = {(j == 0 ? "rest" : "rest % " + extent)};");
                if (j > 0) s.Line($"rest /= {extent};");
            }
            bool Acc(LoadInstr l) => k.Buffers[l.Buffer].Role == BufferRole.Accumulator;
            bool paired = !k.Domain[col].Dynamic && k.Domain[col].Value % 2 == 0 && k.Body.All(instr => instr switch
            {
                LoadInstr l when !Acc(l) => l.Guard.Count == 0 && AccessPattern.Along(l.Offset, col, 2, extents) != AccessKind.Gather,
                StoreInstr st => AccessPattern.Along(st.Offset, col, 2, extents) == AccessKind.Vector,
                PredicateInstr => false, // a mask over the indices: element by element
                _ => true,
            });
            if (paired)
            {
                using (s.Block("if (pair)"))
                {
                    s.Line($"int v{I(col)} = col;");
                    PairBody(s, k, io, col, names);
                    s.Line("return;");
                }
            }
            for (int e = 0; e < 2; e++)
            {
                using (s.Block(e == 0 ? "// column col" : "if (pair) // column col + 1"))
                {
                    s.Line($"int v{I(col)} = col + {I(e)};");
                    ElementBody(s, k, io, names, "acc" + I(e));
                }
            }
            s.Close();
        }

        /// <summary>One element: each load, operator and store of the epilogue, the accumulator load replaced by <paramref name="acc"/>.</summary>
        private static void ElementBody(SourceBuilder s, LoopKernel k, FloatType io, string[] names, string acc)
        {
            string Ref(int id) => k.Body[id] switch
            {
                ConstInstr c => IlgpuKernelPrinter.Literal(c.Value),
                LoadInstr l when k.Buffers[l.Buffer].Role == BufferRole.Accumulator => acc,
                _ => $"x{I(id)}",
            };
            foreach (var instr in k.Body)
            {
                switch (instr)
                {
                    case LoadInstr l when k.Buffers[l.Buffer].Role == BufferRole.Accumulator:
                        break;
                    case LoadInstr l:
                        string Element(string index) => IlgpuKernelPrinter.LoadedValue(k.Buffers[l.Buffer].Type, io, $"{names[l.Buffer]}[{index}]");
                        if (l.Guard.Count == 0) s.Line($"float x{I(l.Id)} = {Element(l.Offset.ToString())};");
                        else
                        {
                            string ok = CudaKernelPrinter.Bounds(l.Guard);
                            s.Line($"float x{I(l.Id)} = IlgpuMath.Select({ok}, {Element($"IlgpuMath.Select({ok}, {l.Offset}, 0)")}, {IlgpuKernelPrinter.Literal(l.Otherwise)});");
                        }
                        break;
                    case OpInstr op:
                        s.Line($"float x{I(op.Id)} = {IlgpuKernelPrinter.Expression(op.Op, op.Args.Select(Ref).ToList())};");
                        break;
                    case PredicateInstr p:
                        s.Line($"float x{I(p.Id)} = (({CudaKernelPrinter.Bounds(p.Bounds)}) ? 1.0f : 0.0f);");
                        break;
                    case StoreInstr { Accumulate: true } st:
                        s.Line($"IlgpuAtomic.Add(ref {names[st.Buffer]}[{st.Offset}], {Ref(st.Value)});");
                        break;
                    case StoreInstr st:
                        s.Line($"{names[st.Buffer]}[{st.Offset}] = {IlgpuKernelPrinter.StoredValue(k.Buffers[st.Buffer].Type, io, Ref(st.Value))};");
                        break;
                }
            }
        }

        /// <summary>
        /// Both elements of a column pair at v_col = col (even): a load along the columns is one pair vector, one that does not depend on
        /// them a single element; operators per element (x3_0, x3_1); each store one pair vector. (No predicates: those go element by element.)
        /// </summary>
        private static void PairBody(SourceBuilder s, LoopKernel k, FloatType io, int col, string[] names)
        {
            string Ref(int id, int e) => k.Body[id] switch
            {
                ConstInstr c => IlgpuKernelPrinter.Literal(c.Value),
                LoadInstr l when k.Buffers[l.Buffer].Role == BufferRole.Accumulator => "acc" + I(e),
                LoadInstr l when !l.Offset.Uses(col) => $"x{I(id)}",
                _ => $"x{I(id)}_{I(e)}",
            };
            foreach (var instr in k.Body)
            {
                switch (instr)
                {
                    case LoadInstr l when k.Buffers[l.Buffer].Role == BufferRole.Accumulator:
                        break;
                    case LoadInstr l when !l.Offset.Uses(col):
                        s.Line($"float x{I(l.Id)} = {IlgpuKernelPrinter.LoadedValue(k.Buffers[l.Buffer].Type, io, $"{names[l.Buffer]}[{l.Offset}]")};");
                        break;
                    case LoadInstr l when k.Buffers[l.Buffer].Type.IsCode():
                        // int8 and FP8 codes: two element loads (no byte vectors yet)
                        for (int e = 0; e < 2; e++)
                            s.Line($"float x{I(l.Id)}_{I(e)} = {IlgpuKernelPrinter.LoadedValue(k.Buffers[l.Buffer].Type, io, $"{names[l.Buffer]}[({l.Offset}) + {I(e)}]")};");
                        break;
                    case LoadInstr l:
                        if (Half(k, io, l.Buffer))
                        {
                            s.Line($"uint q{I(l.Id)} = {names[l.Buffer]}.Cast<IlgpuHalf2>()[({l.Offset}) / 2].P0;");
                            s.Line($"float x{I(l.Id)}_0 = IlgpuMath.Low(q{I(l.Id)}), x{I(l.Id)}_1 = IlgpuMath.High(q{I(l.Id)});");
                        }
                        else
                        {
                            s.Line($"var q{I(l.Id)} = {names[l.Buffer]}.Cast<IlgpuFloat2>()[({l.Offset}) / 2];");
                            s.Line($"float x{I(l.Id)}_0 = q{I(l.Id)}.E0, x{I(l.Id)}_1 = q{I(l.Id)}.E1;");
                        }
                        break;
                    case OpInstr op:
                        for (int e = 0; e < 2; e++)
                        {
                            int ee = e;
                            s.Line($"float x{I(op.Id)}_{I(e)} = {IlgpuKernelPrinter.Expression(op.Op, op.Args.Select(a => Ref(a, ee)).ToList())};");
                        }
                        break;
                    case StoreInstr { Accumulate: true } st:
                        s.Line($"IlgpuAtomic.Add(ref {names[st.Buffer]}[{st.Offset}], {Ref(st.Value, 0)});");
                        s.Line($"IlgpuAtomic.Add(ref {names[st.Buffer]}[({st.Offset}) + 1], {Ref(st.Value, 1)});");
                        break;
                    case StoreInstr st when k.Buffers[st.Buffer].Type.IsCode():
                        for (int e = 0; e < 2; e++)
                            s.Line($"{names[st.Buffer]}[({st.Offset}) + {I(e)}] = {IlgpuKernelPrinter.StoredValue(k.Buffers[st.Buffer].Type, io, Ref(st.Value, e))};");
                        break;
                    case StoreInstr st:
                        s.Line(Half(k, io, st.Buffer)
                            ? $"{names[st.Buffer]}.Cast<IlgpuHalf2>()[({st.Offset}) / 2] = new IlgpuHalf2 {{ P0 = IlgpuMath.Pack({Ref(st.Value, 0)}, {Ref(st.Value, 1)}) }};"
                            : $"{names[st.Buffer]}.Cast<IlgpuFloat2>()[({st.Offset}) / 2] = new IlgpuFloat2 {{ E0 = {Ref(st.Value, 0)}, E1 = {Ref(st.Value, 1)} }};");
                        break;
                }
            }
        }

        private static bool Half(LoopKernel k, FloatType io, int buffer) => IlgpuKernelPrinter.ElementType(k.Buffers[buffer].Type, io) == "IlgpuHalf";

        private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
    }
}
