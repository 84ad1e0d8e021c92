using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// Prints the GEMM template (out = epilogue(x[m, K] · w[N, KW]ᵀ), fp16 operands, fp32 accumulation on the tensor cores) as an
    /// ILGPU kernel with a generated epilogue: the same algorithm and tile as the CUDA template (gemm.cut, its default tile: 128 rows,
    /// one warp per 16, BN columns fitted to N, K in steps of 32 through two shared-memory stages filled by cp.async, rows padded to
    /// 40 halves so ldmatrix is conflict-free), written out the way nvcc would unroll it because ILGPU keeps the C#'s shape: one
    /// <c>Accumulator4</c> local per n8 tile, each k16 step's ldmatrix and mma.sync spelled out, and the tile copies unrolled per
    /// thread. The instructions are <c>Fusion.Ilgpu.TensorCore</c>'s methods, which Fusion's PTX compiler writes as single PTX
    /// instructions on registers. The epilogue is a method of its own, called per element (row, column, accumulator), printed from
    /// the epilogue's loop IR: its loads, operators and stores, the accumulator load replaced by the value.
    /// </summary>
    internal static class IlgpuGemmPrinter
    {
        private const int BM = 128, BK = 32, BKP = BK + 8;

        /// <summary>Rows of the output per group (the launch covers ⌈m / Rows⌉ · ⌈N / BN⌉ groups).</summary>
        public const int Rows = BM;

        /// <summary>Threads per group: one warp per 16 rows.</summary>
        public const int Threads = BM / 16 * 32;

        /// <summary>The method's name: the GEMM's, with the io type appended when its epilogue has io buffers.</summary>
        public static string MethodName(string gemm, LoopKernel epilogue, FloatType io) =>
            epilogue.UsesIoType ? gemm + (io == FloatType.F16 ? "_io_f16" : "_io_f32") : gemm;

        /// <summary>The kernel's methods for every io variant of its epilogue, each with its epilogue method.</summary>
        public static string PrintAll(string gemm, int n, int k, LoopKernel epilogue) =>
            string.Join("\n", IlgpuKernelPrinter.IoVariants(epilogue).Select(io => Print(gemm, n, k, epilogue, io)));

        public static string Print(string gemm, int n, int k, LoopKernel epilogue, FloatType io)
        {
            if (epilogue.Domain.Count == 0 || epilogue.HasReduction) throw new ArgumentException($"{epilogue.Name}: an epilogue is a pointwise kernel over the GEMM output");
            string method = MethodName(gemm, epilogue, io);
            // e0, e1, …: the buffers' own names could be any of the kernel's locals (a residual called x).
            var names = Enumerable.Range(0, epilogue.Buffers.Count).Select(b => "e" + I(b)).ToArray();
            var buffers = Enumerable.Range(0, epilogue.Buffers.Count).Where(b => epilogue.Buffers[b].Role != BufferRole.Accumulator).ToList();
            string Parameters() => string.Concat(buffers.Select(b => $", global::ILGPU.ArrayView<{IlgpuKernelPrinter.ElementType(epilogue.Buffers[b].Type, io)}> {names[b]}"));
            string Arguments() => string.Concat(buffers.Select(b => ", " + names[b]));

            int bn = GemmRows.DefaultColumns(n), kw = GemmRows.Stride(k), nt = bn / 8;
            int nTiles = (n + bn - 1) / bn, kTiles = (k + BK - 1) / BK;
            var s = new SourceBuilder();
            s.Line($"/// <summary>{gemm}{(epilogue.UsesIoType ? $" with io = {io.Short()}" : "")}: the GEMM template (x[m, {I(k)}] · w[{I(n)}, {I(kw)}]ᵀ on the tensor cores, "
                + $"tile {I(BM)}×{I(bn)}, {I(Threads)} threads) with its epilogue; launch: ⌈m / {I(BM)}⌉ · {I(nTiles)} groups.</summary>");
            s.Line($"internal static void {method}(global::ILGPU.ArrayView<IlgpuHalf> x, global::ILGPU.ArrayView<IlgpuHalf> w, int m, int batch{Parameters()})");
            s.Line("{");
            s.Indent();
            s.Line("var xs = x.Cast<ushort>();");
            s.Line("var ws = w.Cast<ushort>();");
            s.Line($"var aTiles = global::ILGPU.SharedMemory.Allocate<ushort>({I(2 * BM * BKP)});");
            s.Line($"var bTiles = global::ILGPU.SharedMemory.Allocate<ushort>({I(2 * bn * BKP)});");
            s.Line("int tid = IlgpuGroup.IdxX, warp = tid / 32, lane = tid % 32;");
            s.Line($"int row0 = IlgpuGrid.IdxX / {I(nTiles)} * {I(BM)};");
            s.Line($"int col0 = IlgpuGrid.IdxX % {I(nTiles)} * {I(bn)};");
            for (int i = 0; i < nt; i++) s.Line($"var acc{I(i)} = default(IlgpuAccumulator4);");
            using (s.Block("// stage 0, k0 = 0"))
            {
                s.Line("int stage = 0, k0 = 0;");
                LoadTiles(s, n, k, kw, bn);
            }
            s.Line("IlgpuTensorCore.Commit();");
            using (s.Block($"for (int kt = 0; kt < {I(kTiles)}; kt++)"))
            {
                using (s.Block($"if (kt + 1 < {I(kTiles)})"))
                {
                    s.Line("// Stage (kt + 1) & 1 was last read in step kt - 1, which ended with a barrier.");
                    s.Line($"int stage = (kt + 1) & 1, k0 = (kt + 1) * {I(BK)};");
                    LoadTiles(s, n, k, kw, bn);
                    s.Line("IlgpuTensorCore.Commit();");
                    s.Line("IlgpuTensorCore.WaitAllButOne();");
                }
                s.Line("else IlgpuTensorCore.WaitAll();");
                s.Line("IlgpuGroup.Barrier();");
                s.Line($"int at = (kt & 1) * {I(BM * BKP)}, bt = (kt & 1) * {I(bn * BKP)};");
                for (int kk = 0; kk < BK; kk += 16)
                {
                    using (s.Block($"// k = {I(kk)}..{I(kk + 15)} of the step"))
                    {
                        s.Line("// lanes 0-15 give rows 0-15 at k, lanes 16-31 rows 0-15 at k + 8: a0..a3 in mma order.");
                        s.Line($"var a = IlgpuTensorCore.LoadMatrix4(ref aTiles[at + (warp * 16 + lane % 16) * {I(BKP)} + {I(kk)} + lane / 16 * 8]);");
                        for (int nj = 0; nj < nt / 2; nj++)
                        {
                            // w is [n][k]: each 8×8 matrix row is one n, so plain ldmatrix gives the "col" B fragment of two n8 tiles.
                            s.Line($"var b{I(nj)} = IlgpuTensorCore.LoadMatrix4(ref bTiles[bt + ({I(nj * 16)} + lane / 16 * 8 + lane % 8) * {I(BKP)} + {I(kk)} + lane / 8 % 2 * 8]);");
                        }
                        for (int nj = 0; nj < nt / 2; nj++)
                        {
                            s.Line($"acc{I(2 * nj)} = IlgpuTensorCore.Mma(acc{I(2 * nj)}, a, b{I(nj)}.R0, b{I(nj)}.R1);");
                            s.Line($"acc{I(2 * nj + 1)} = IlgpuTensorCore.Mma(acc{I(2 * nj + 1)}, a, b{I(nj)}.R2, b{I(nj)}.R3);");
                        }
                    }
                }
                s.Line("IlgpuGroup.Barrier();");
            }
            s.Line("// Accumulator j of n8 tile i is row lane/4 (+8 for j ≥ 2), column 2·(lane%4) + j%2 of the tile.");
            s.Line("int r0 = row0 + warp * 16 + lane / 4, r1 = r0 + 8;");
            for (int i = 0; i < nt; i++)
            {
                using (s.Block($"// n8 tile {I(i)}"))
                {
                    s.Line($"int c = col0 + {I(i * 8)} + lane % 4 * 2;");
                    s.Line($"bool first = c < {I(n)}, second = c + 1 < {I(n)};");
                    s.Line($"if (r0 < m && first) {method}_at(r0, c, acc{I(i)}.C0, batch{Arguments()});");
                    s.Line($"if (r0 < m && second) {method}_at(r0, c + 1, acc{I(i)}.C1, batch{Arguments()});");
                    s.Line($"if (r1 < m && first) {method}_at(r1, c, acc{I(i)}.C2, batch{Arguments()});");
                    s.Line($"if (r1 < m && second) {method}_at(r1, c + 1, acc{I(i)}.C3, batch{Arguments()});");
                }
            }
            s.Close();
            s.Line();
            Epilogue(s, epilogue, io, method, names, Parameters());
            return s.ToString();
        }

        /// <summary>
        /// The copies of one K step into stage <c>stage</c> at depth <c>k0</c>: x's 128 × 32 tile (16-byte cp.async chunks when K % 8 == 0,
        /// else one half at a time) and w's BN × 32 tile (always chunks: its rows are KW halves, a multiple of 8). Chunks outside
        /// the matrix are zero-filled and read nothing.
        /// </summary>
        private static void LoadTiles(SourceBuilder s, int n, int k, int kw, int bn)
        {
            if (k % 8 == 0) Chunks(s, "aTiles", "xs", BM, "row0", "m", k, BM * BKP);
            else
            {
                using (s.Block($"for (int e = tid; e < {I(BM * BK)}; e += {I(Threads)})"))
                {
                    s.Line($"int r = e / {I(BK)}, kk = e % {I(BK)}, gr = row0 + r, gk = k0 + kk;");
                    s.Line($"bool inside = gr < m && gk < {I(k)};");
                    s.Line($"ushort value = xs[IlgpuMath.Select(inside, gr * {I(k)} + gk, 0)];");
                    s.Line($"aTiles[stage * {I(BM * BKP)} + r * {I(BKP)} + kk] = inside ? value : (ushort)0;");
                }
            }
            Chunks(s, "bTiles", "ws", bn, "col0", I(n), kw, bn * BKP);
        }

        /// <summary>A rows × 32 tile of <paramref name="source"/> (rows of <paramref name="columns"/> halves) by cp.async, each thread's chunks unrolled.</summary>
        private static void Chunks(SourceBuilder s, string tile, string source, int rows, string first, string limit, int columns, int stageSize)
        {
            int chunks = rows * (BK / 8);
            for (int i = 0; i * Threads < chunks; i++)
            {
                bool partial = (i + 1) * Threads > chunks;
                using (s.Block(partial ? $"if (tid + {I(i * Threads)} < {I(chunks)})" : $"// chunk {I(i)} of each thread"))
                {
                    s.Line($"int c = tid + {I(i * Threads)}, r = c / {I(BK / 8)}, kc = c % {I(BK / 8)} * 8, gr = {first} + r, gk = k0 + kc;");
                    s.Line($"bool inside = gr < {limit} && gk < {I(columns)};");
                    s.Line($"IlgpuTensorCore.CopyAsync16(ref {tile}[stage * {I(stageSize)} + r * {I(BKP)} + kc], ref {source}[IlgpuMath.Select(inside, gr * {I(columns)} + gk, 0)], inside);");
                }
            }
        }

        /// <summary>The epilogue at one element: row and column of the [rows, N] output, the accumulator's value, then its loop-IR body.</summary>
        private static void Epilogue(SourceBuilder s, LoopKernel k, FloatType io, string method, string[] names, string parameters)
        {
            int n = k.Domain.Count, col = n - 1;
            s.Line($"/// <summary>The epilogue of {method} ({k.Name}) at one element.</summary>");
            s.Line("[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]");
            s.Line($"private static void {method}_at(int row, int col, float acc, int batch{parameters})");
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
            s.Line($"int v{I(col)} = col;");
            string Ref(int id) => k.Body[id] switch
            {
                ConstInstr c => IlgpuKernelPrinter.Literal(c.Value),
                LoadInstr l when k.Buffers[l.Buffer].Role == BufferRole.Accumulator => "acc",
                _ => $"x{I(id)}",
            };
            bool Half(int buffer) => IlgpuKernelPrinter.ElementType(k.Buffers[buffer].Type, io) == "IlgpuHalf";
            foreach (var instr in k.Body)
            {
                switch (instr)
                {
                    case LoadInstr l when k.Buffers[l.Buffer].Role == BufferRole.Accumulator:
                        break;
                    case LoadInstr l:
                        string Element(string index) => Half(l.Buffer) ? $"(float){names[l.Buffer]}[{index}]" : $"{names[l.Buffer]}[{index}]";
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
                    case StoreInstr st:
                        s.Line($"{names[st.Buffer]}[{st.Offset}] = {(Half(st.Buffer) ? $"IlgpuMath.ToHalf({Ref(st.Value)})" : Ref(st.Value))};");
                        break;
                }
            }
            s.Close();
        }

        private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
    }
}
