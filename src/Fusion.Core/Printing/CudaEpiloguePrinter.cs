using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Fusion.Compiler
{
    /// <summary>
    /// Prints a GEMM epilogue (a pointwise loop-IR kernel over the GEMM's [.., N] output whose "acc" buffer is the product) as
    /// the device function the GEMM template calls for each pair of accumulators, <c>fusion_epilogue(row, col, acc0, acc1, pair,
    /// N, …)</c>, plus <c>FUSION_EPILOGUE_PARAMS</c>/<c>FUSION_EPILOGUE_ARGS</c>, the kernel parameters it needs (its other inputs
    /// and its outputs, in buffer order). Where every access moves in pairs along the columns the pair is loaded and stored as one
    /// 4- or 8-byte vector; otherwise element by element. An epilogue whose one store accumulates (a global pool) is printed as
    /// <c>fusion_epilogue_pooled</c> instead, which returns the pooled elements its pair adds into and the values it adds, with
    /// <c>FUSION_EPILOGUE_POOLED</c> defined: the GEMM template sums what goes to the same elements before adding it.
    /// A plain epilogue also comes in two steps for a caller that walks the rows of one column pair (the GEMM template):
    /// <c>fusion_epilogue_load_columns(col, pair, …)</c> reads what is the same on every row (a Linear's bias, the int8 plan's
    /// per-channel scales and its output scale) once, and <c>fusion_epilogue_row(row, col, acc0, acc1, pair, N, columns, …)</c> does the
    /// rest (<c>FUSION_EPILOGUE_COLUMNS</c> defined); read at every row, those loads and their addresses were 1.5 of the 52 instructions an
    /// element of the int8 plan's requantizing GEMMs (Nsight Compute, 2026-12-06). Where every access moves in fours (the column count a
    /// multiple of 4, nothing gathered along the columns, every store a vector) both steps also come four columns at a time,
    /// <c>fusion_epilogue_load_columns4(col, …)</c> and <c>fusion_epilogue_row4(row, col, acc4, N, columns4, …)</c>, with
    /// <c>FUSION_EPILOGUE_QUADS</c> defined: the GEMM template then hands a lane four columns (one 4-byte store of int8 codes, 8 bytes
    /// of halves) where it would hand two.
    /// </summary>
    internal static class CudaEpiloguePrinter
    {
        public static string Print(LoopKernel k)
        {
            int n = k.Domain.Count;
            if (n == 0 || k.HasReduction) throw new ArgumentException($"{k.Name}: an epilogue is a pointwise kernel over the GEMM output");
            int col = n - 1;
            var s = new StringBuilder();
            var buffers = k.Buffers.Select((b, i) => (Buffer: b, Index: i, Name: "e" + i.ToString(CultureInfo.InvariantCulture))).Where(b => b.Buffer.Role != BufferRole.Accumulator).ToList();
            string Param((KernelBuffer Buffer, int Index, string Name) b) => (b.Buffer.Role == BufferRole.Output ? "" : "const ") + CudaKernelPrinter.CType(b.Buffer.Type) + "* __restrict__ " + b.Name;
            string NameOf(int buffer) => "e" + buffer.ToString(CultureInfo.InvariantCulture);
            s.Append("// The generated epilogue (").Append(k.Name).Append("): the loop IR below, at (row, col) and (row, col + 1) of the output.\n");
            foreach (var line in LoopIrText.Print(k).TrimEnd('\n').Split('\n')) s.Append("//   ").Append(line).Append('\n');
            if (k.UsesIoType) s.Append("#if FUSION_IO_HALF\ntypedef half io_t;\n#else\ntypedef float io_t;\n#endif\n");
            s.Append("#define FUSION_EPILOGUE_PARAMS ").Append(string.Concat(buffers.Select(b => ", " + Param(b)))).Append('\n');
            s.Append("#define FUSION_EPILOGUE_ARGS ").Append(string.Concat(buffers.Select(b => ", " + b.Name))).Append('\n');
            s.Append('\n');
            k = LoopAnalysis.StoresRoundOnce(k);  // after the IR comment, which shows the kernel as lowered
            // A pooled epilogue (its one store accumulates: a global pool) hands back what it would add and where, so the template sums a
            // lane's rows that add into the same elements in registers and adds once (gemm.cut, FUSION_EPILOGUE_POOLED).
            bool pooled = k.Accumulates;
            if (pooled && k.Body.OfType<StoreInstr>().Count() != 1)
                throw new ArgumentException($"{k.Name}: a pooled epilogue has one store, the accumulating one");
            if (pooled)
            {
                s.Append("#define FUSION_EPILOGUE_POOLED 1\n");
                s.Append("FUSION_DEVICE float* fusion_epilogue_pooled(long long row, int col, float acc0, float acc1, bool pair, long long N FUSION_EPILOGUE_PARAMS,\n");
                s.Append("    float& add0, float& add1, float*& at1)\n{\n");
                s.Append("    float* at0 = nullptr;\n    add1 = 0.0f;\n");
            }
            else
            {
                s.Append("#define FUSION_EPILOGUE_COLUMNS 1\n");
                ColumnLoads(s, k, col, 2, NameOf);
                s.Append("FUSION_DEVICE void fusion_epilogue_row(long long row, int col, float acc0, float acc1, bool pair, long long N, const fusion_epilogue_columns& columns FUSION_EPILOGUE_PARAMS)\n{\n");
            }
            RowVariables(s, k);
            s.Append("    const float acc[2] = {acc0, acc1};\n");

            bool paired = Moves(k, col, 2);
            if (paired)
            {
                s.Append("    if (pair)\n    {\n");
                Body(s, k, col, vector: true, "        ", NameOf);
                s.Append(pooled ? "        return at0;\n    }\n" : "        return;\n    }\n");
            }
            s.Append("    for (int e = 0; e < (pair ? 2 : 1); e++)\n    {\n");
            Body(s, k, col, vector: false, "        ", NameOf);
            s.Append(pooled ? "    }\n    if (!pair) at1 = at0;\n    return at0;\n}\n" : "    }\n}\n");
            if (!pooled)
                s.Append("\n// Both steps at once, for a caller that does not walk rows.\n")
                    .Append("FUSION_DEVICE void fusion_epilogue(long long row, int col, float acc0, float acc1, bool pair, long long N FUSION_EPILOGUE_PARAMS)\n{\n")
                    .Append("    fusion_epilogue_row(row, col, acc0, acc1, pair, N, fusion_epilogue_load_columns(col, pair FUSION_EPILOGUE_ARGS) FUSION_EPILOGUE_ARGS);\n}\n");
            // Four columns a lane for the GEMM template where every access moves in fours (N a multiple of 4): its staged read-back then
            // stores 4 columns a lane, 8 lanes a row (an int8 row's 32 codes one 32-byte sector from one 4-byte store a lane).
            if (!pooled && Moves(k, col, 4))
            {
                s.Append("\n// Four columns a lane (FUSION_EPILOGUE_QUADS): the same chain at (row, col … col + 3), col a multiple of 4.\n")
                    .Append("#define FUSION_EPILOGUE_QUADS 1\n");
                ColumnLoads(s, k, col, 4, NameOf);
                s.Append("FUSION_DEVICE void fusion_epilogue_row4(long long row, int col, const fusion_f4& acc4, long long N, const fusion_epilogue_columns4& columns FUSION_EPILOGUE_PARAMS)\n{\n");
                RowVariables(s, k);
                s.Append("    const float acc[4] = {acc4.x, acc4.y, acc4.z, acc4.w};\n");
                Body(s, k, col, vector: true, "    ", NameOf, width: 4);
                s.Append("}\n");
            }
            return s.ToString();
        }

        /// <summary>The row's index variables (all but the column) from the flat row, and s{col} = col.</summary>
        private static void RowVariables(StringBuilder s, LoopKernel k)
        {
            int n = k.Domain.Count, col = n - 1;
            s.Append("    (void)N;\n");
            s.Append("    long long rest = row;\n");
            for (int j = n - 2; j >= 0; j--)
            {
                var extent = CudaKernelPrinter.Extent(k.Domain[j]);
                s.Append("    const long long v").Append(j).Append(" = ").Append(j == 0 ? "rest" : "rest % " + extent).Append(";\n");
                if (j > 0) s.Append("    rest /= ").Append(extent).Append(";\n");
            }
            s.Append("    (void)rest;\n");
            s.Append("    const long long s").Append(col).Append(" = col;\n");
        }

        /// <summary>
        /// Whether every access of the chain moves <paramref name="width"/> consecutive columns as one vector (or reads one element for
        /// all of them): the column count a multiple of the width, no guarded load, no gather along the columns, every store a vector.
        /// </summary>
        private static bool Moves(LoopKernel k, int col, int width)
        {
            var extents = k.VariableExtents;
            return !k.Domain[col].Dynamic && k.Domain[col].Value % width == 0 && k.Body.All(i => i switch
            {
                LoadInstr l when k.Buffers[l.Buffer].Role != BufferRole.Accumulator => l.Guard.Count == 0
                    && AccessPattern.Along(l.Offset, col, width, extents) != AccessKind.Gather,
                StoreInstr st => AccessPattern.Along(st.Offset, col, width, extents) == AccessKind.Vector,
                _ => true,
            });
        }

        /// <summary>A load that reads the same element at every row: no row variable in its offset, no guard (a pooled epilogue has none).</summary>
        private static bool ReadsColumns(LoopKernel k, Instr instr, int col) =>
            !k.Accumulates && instr is LoadInstr l && k.Buffers[l.Buffer].Role != BufferRole.Accumulator && l.Guard.Count == 0
            && Enumerable.Range(0, col).All(j => !l.Offset.Uses(j));

        /// <summary>
        /// The struct of the row-invariant loads and the function that fills it for a column pair: a load along the columns keeps both
        /// columns' values (the second only where the pair has one), a load of one element its value.
        /// </summary>
        private static void ColumnLoads(StringBuilder s, LoopKernel k, int col, int width, Func<int, string> name)
        {
            var loads = k.Body.Where(i => ReadsColumns(k, i, col)).Cast<LoadInstr>().ToList();
            string type = width == 2 ? "fusion_epilogue_columns" : "fusion_epilogue_columns4";
            s.Append("struct ").Append(type).Append("\n{\n");
            foreach (var l in loads) s.Append(l.Offset.Uses(col) ? $"    float x{l.Id}[{width}];\n" : $"    float x{l.Id};\n");
            if (loads.Count == 0) s.Append("    char none;\n");
            s.Append("};\n\n");
            // A pair may be the row's last column alone; a quad is always whole (the template takes quads only where N % 4 == 0).
            s.Append($"FUSION_DEVICE {type} fusion_epilogue_load_columns{(width == 2 ? "" : "4")}(int col{(width == 2 ? ", bool pair" : "")} FUSION_EPILOGUE_PARAMS)\n{{\n");
            s.Append($"    {type} columns{{}};\n").Append(width == 2 ? "    (void)pair;\n" : "");
            foreach (var l in loads.Where(l => !l.Offset.Uses(col)))
                s.Append($"    columns.x{l.Id} = fusion_load({name(l.Buffer)} + ({l.Offset}));\n");
            var alongColumns = loads.Where(l => l.Offset.Uses(col)).ToList();
            if (alongColumns.Count > 0)
            {
                s.Append(width == 2 ? "    for (int e = 0; e < (pair ? 2 : 1); e++)\n    {\n" : "    #pragma unroll\n    for (int e = 0; e < 4; e++)\n    {\n");
                s.Append($"        const long long v{col} = col + e;\n");
                foreach (var l in alongColumns) s.Append($"        columns.x{l.Id}[e] = fusion_load({name(l.Buffer)} + ({l.Offset}));\n");
                s.Append("    }\n");
            }
            s.Append("    return columns;\n}\n\n");
        }

        /// <summary>The epilogue's instructions for both columns (vector) or for column col + e (scalar loop).</summary>
        private static void Body(StringBuilder s, LoopKernel k, int col, bool vector, string pad, Func<int, string> name, int width = 2)
        {
            string Ref(int id) => k.Body[id] switch
            {
                ConstInstr c => CudaKernelPrinter.Literal(c.Value),
                LoadInstr l when k.Buffers[l.Buffer].Role == BufferRole.Accumulator => "acc[e]",
                LoadInstr l when ReadsColumns(k, l, col) => $"columns.x{id}" + (l.Offset.Uses(col) ? "[e]" : ""),
                LoadInstr l when vector && l.Offset.Uses(col) => $"x{id}[e]",
                _ => $"x{id}" + (vector && k.Body[id] is not LoadInstr ? "[e]" : ""),
            };
            if (vector)
            {
                s.Append(pad).Append("const long long v").Append(col).Append(" = s").Append(col).Append(";\n");
                foreach (var l in k.Body.OfType<LoadInstr>().Where(l => k.Buffers[l.Buffer].Role != BufferRole.Accumulator && !ReadsColumns(k, l, col)))
                {
                    if (l.Offset.Uses(col))
                        s.Append(pad).Append($"float x{l.Id}[{width}];\n").Append(pad).Append($"fusion_load_vec<{width}>({name(l.Buffer)} + ({l.Offset}), x{l.Id});\n");
                    else
                        s.Append(pad).Append($"const float x{l.Id} = fusion_load({name(l.Buffer)} + ({l.Offset}));\n");
                }
                var ops = k.Body.Where(i => i is OpInstr or PredicateInstr).ToList();
                foreach (var op in ops) s.Append(pad).Append($"float x{op.Id}[{width}];\n");
                s.Append(pad).Append("#pragma unroll\n").Append(pad).Append($"for (int e = 0; e < {width}; e++)\n").Append(pad).Append("{\n");
                foreach (var op in ops) s.Append(pad).Append("    ").Append($"x{op.Id}[e] = {Compute(op, Ref)};\n");
                s.Append(pad).Append("}\n");
                foreach (var st in k.Body.OfType<StoreInstr>())
                {
                    s.Append(pad).Append("{\n");
                    s.Append(pad).Append($"    float sv[{width}];\n").Append(pad).Append($"    for (int e = 0; e < {width}; e++) sv[e] = {Ref(st.Value)};\n");
                    if (st.Accumulate)
                        s.Append(pad).Append($"    at0 = {name(st.Buffer)} + ({st.Offset});\n").Append(pad).Append("    at1 = at0 + 1;\n")
                            .Append(pad).Append("    add0 = sv[0];\n").Append(pad).Append("    add1 = sv[1];\n");
                    else s.Append(pad).Append($"    fusion_store_vec<{width}>({name(st.Buffer)} + ({st.Offset}), sv);\n");
                    s.Append(pad).Append("}\n");
                }
                return;
            }
            s.Append(pad).Append("const long long v").Append(col).Append(" = s").Append(col).Append(" + e;\n");
            foreach (var instr in k.Body)
            {
                switch (instr)
                {
                    case LoadInstr l when k.Buffers[l.Buffer].Role == BufferRole.Accumulator || ReadsColumns(k, l, col):
                        break;
                    case LoadInstr l:
                        s.Append(pad).Append($"const float x{l.Id} = ")
                            .Append(l.Guard.Count == 0 ? "" : $"({CudaKernelPrinter.Bounds(l.Guard)}) ? ")
                            .Append($"fusion_load({name(l.Buffer)} + ({l.Offset}))")
                            .Append(l.Guard.Count == 0 ? "" : " : " + CudaKernelPrinter.Literal(l.Otherwise)).Append(";\n");
                        break;
                    case OpInstr or PredicateInstr:
                        s.Append(pad).Append($"const float x{instr.Id} = {Compute(instr, Ref)};\n");
                        break;
                    case StoreInstr st:
                        if (st.Accumulate)
                            s.Append(pad).Append($"if (e == 0) {{ at0 = {name(st.Buffer)} + ({st.Offset}); add0 = {Ref(st.Value)}; }}\n")
                                .Append(pad).Append($"else {{ at1 = {name(st.Buffer)} + ({st.Offset}); add1 = {Ref(st.Value)}; }}\n");
                        else s.Append(pad).Append($"fusion_store({name(st.Buffer)} + ({st.Offset}), {Ref(st.Value)});\n");
                        break;
                }
            }
        }

        private static string Compute(Instr instr, Func<int, string> operand) => instr switch
        {
            OpInstr op => CudaKernelPrinter.Expression(op.Op, op.Args.Select(operand).ToList()),
            PredicateInstr p => $"(({CudaKernelPrinter.Bounds(p.Bounds)}) ? 1.0f : 0.0f)",
            _ => throw new InvalidOperationException($"{instr.GetType().Name} is not computed"),
        };
    }
}
