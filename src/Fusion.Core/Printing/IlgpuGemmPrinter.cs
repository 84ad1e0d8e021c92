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
    /// the epilogue's loop IR: its loads, operators and stores, the accumulator load replaced by the value. An implicit-GEMM convolution
    /// (<see cref="ConvGemm"/>) reads its x tiles from the channels-last image as the CUDA template does: each 16-byte chunk is 8
    /// channels of one tap (16 in int8), its pixel worked out from the row and the tap, or zero-filled in the padding. The int8 form (the Int8 plan's
    /// quantized Linears: x and w int8, w's rows KW = K rounded up to 16) is the CUDA template's too: everything is laid out in 16-byte
    /// units, so the tiles, copies and ldmatrix addressing are the fp16 form's read as pairs of bytes (a k-step is 64 int8), the product is
    /// <c>mma.sync m16n8k32</c> on <c>IntAccumulator4</c> (exact int32 sums) and each sum reaches the epilogue rounded to the nearest float.
    /// </summary>
    internal static class IlgpuGemmPrinter
    {
        // The CUDA template's default tile (the runtime's GemmTile.Default launches both): BM rows, one warp per 16.
        private const int BM = 128, BK = 32, BKP = BK + 8, Threads = BM / 16 * 32;

        /// <summary>The kernel's methods for every io variant of its epilogue, each with its epilogue method.</summary>
        public static string PrintAll(string gemm, int n, int k, LoopKernel epilogue, ConvGemm? conv = null, bool int8 = false) =>
            string.Join("\n", IlgpuKernelPrinter.IoVariants(epilogue).Select(io => Print(gemm, n, k, epilogue, io, conv, int8)));

        public static string Print(string gemm, int n, int k, LoopKernel epilogue, FloatType io, ConvGemm? conv = null, bool int8 = false)
        {
            if (epilogue.Domain.Count == 0 || epilogue.HasReduction) throw new ArgumentException($"{epilogue.Name}: an epilogue is a pointwise kernel over the GEMM output");
            if (conv is not null && (!ConvGemm.Fits(conv.Channels, int8) || conv.Depth != k))
                throw new ArgumentException($"{gemm}: an implicit-GEMM convolution reads {ConvGemm.ChunkChannels(int8)} channels at a time (C = {conv.Channels} must be a multiple of {ConvGemm.ChunkChannels(int8)}) and K = KS·KS·C ({conv.Depth}, not {k})");
            string method = IlgpuEpiloguePrinter.MethodName(gemm, epilogue, io);
            string parameters = IlgpuEpiloguePrinter.Parameters(epilogue, io), arguments = IlgpuEpiloguePrinter.Arguments(epilogue);

            // The tiles work in 16-bit units: halves, or pairs of int8 (K and KW are even in int8 wherever the copies move chunks).
            int bn = GemmRows.DefaultColumns(n), kw = GemmRows.Stride(k, int8), nt = bn / 8, unit = int8 ? 2 : 1;
            int nTiles = (n + bn - 1) / bn, kTiles = (k + BK * unit - 1) / (BK * unit);
            var s = new SourceBuilder();
            string operand = conv is null ? $"x[m, {I(k)}]" : $"the im2col matrix of the image x[b, {I(conv.Height)}, {I(conv.Width)}, {I(conv.Channels)}] ({conv})";
            string element = int8 ? "sbyte" : "IlgpuHalf";
            s.Line($"/// <summary>{gemm}{(epilogue.UsesIoType ? $" with io = {io.Short()}" : "")}: the GEMM template ({operand} · w[{I(n)}, {I(kw)}]ᵀ{(int8 ? " in int8, exact int32 sums" : "")} on the tensor cores, "
                + $"tile {I(BM)}×{I(bn)}, {I(Threads)} threads) with its epilogue; launch: ⌈m / {I(BM)}⌉ · {I(nTiles)} groups.</summary>");
            s.Line($"internal static void {method}(global::ILGPU.ArrayView<{element}> x, global::ILGPU.ArrayView<{element}> w, int m, int batch{parameters})");
            s.Line("{");
            s.Indent();
            s.Line("var xs = x.Cast<ushort>();");
            s.Line("var ws = w.Cast<ushort>();");
            s.Line($"var aTiles = global::ILGPU.SharedMemory.Allocate<ushort>({I(2 * BM * BKP)});");
            s.Line($"var bTiles = global::ILGPU.SharedMemory.Allocate<ushort>({I(2 * bn * BKP)});");
            s.Line("int tid = IlgpuGroup.IdxX, warp = tid / 32, lane = tid % 32;");
            string units = int8 ? "16-bit units (int8 pairs)" : "halves";
            s.Line($"// Where this thread's 16-byte chunks of a tile start (row, then {units} within the step; every chunk of the thread has the");
            s.Line($"// same column, {I(Threads / (BK / 8))} rows apart) and where its ldmatrix rows start in a stage, all fixed for the kernel:");
            s.Line($"int chunkRow = tid / {I(BK / 8)}, chunkColumn = tid % {I(BK / 8)} * 8;");
            string half = int8 ? "16" : "8"; // the second 16 bytes of a k16 (halves) or k32 (int8) step
            s.Line($"// lanes 0-15 give rows 0-15 at k, lanes 16-31 rows 0-15 at k + {half}: a0..a3 in mma order.");
            s.Line($"int aLane = (warp * 16 + lane % 16) * {I(BKP)} + lane / 16 * 8;");
            s.Line($"// w is [n][k]: each 8×8 matrix row is one n, so plain ldmatrix gives the \"col\" B fragments of two n8 tiles: (n 0-7, k), (n 0-7, k + {half}), (n 8-15, k), (n 8-15, k + {half}).");
            s.Line($"int bLane = (lane / 16 * 8 + lane % 8) * {I(BKP)} + lane / 8 % 2 * 8;");
            s.Line($"int row0 = IlgpuGrid.IdxX / {I(nTiles)} * {I(BM)};");
            s.Line($"int col0 = IlgpuGrid.IdxX % {I(nTiles)} * {I(bn)};");
            for (int i = 0; i < nt; i++) s.Line($"var acc{I(i)} = default({(int8 ? "IlgpuIntAccumulator4" : "IlgpuAccumulator4")});");
            using (s.Block("// stage 0, k0 = 0"))
            {
                s.Line("int stage = 0, k0 = 0;");
                LoadTiles(s, n, k, kw, bn, conv, int8);
            }
            s.Line("IlgpuTensorCore.Commit();");
            using (s.Block($"for (int kt = 0; kt < {I(kTiles)}; kt++)"))
            {
                using (s.Block($"if (kt + 1 < {I(kTiles)})"))
                {
                    s.Line("// Stage (kt + 1) & 1 was last read in step kt - 1, which ended with a barrier.");
                    s.Line($"int stage = (kt + 1) & 1, k0 = (kt + 1) * {I(BK)};");
                    LoadTiles(s, n, k, kw, bn, conv, int8);
                    s.Line("IlgpuTensorCore.Commit();");
                    s.Line("IlgpuTensorCore.WaitAllButOne();");
                }
                s.Line("else IlgpuTensorCore.WaitAll();");
                s.Line("IlgpuGroup.Barrier();");
                s.Line($"int at = (kt & 1) * {I(BM * BKP)}, bt = (kt & 1) * {I(bn * BKP)};");
                for (int kk = 0; kk < BK; kk += 16)
                {
                    using (s.Block($"// k = {I(kk * unit)}..{I((kk + 16) * unit - 1)} of the step"))
                    {
                        s.Line($"var a = IlgpuTensorCore.LoadMatrix4(ref aTiles[at + aLane + {I(kk)}]);");
                        for (int nj = 0; nj < nt / 2; nj++)
                            s.Line($"var b{I(nj)} = IlgpuTensorCore.LoadMatrix4(ref bTiles[bt + bLane + {I(nj * 16 * BKP + kk)}]);");
                        string mma = int8 ? "MmaS8" : "Mma";
                        for (int nj = 0; nj < nt / 2; nj++)
                        {
                            s.Line($"acc{I(2 * nj)} = IlgpuTensorCore.{mma}(acc{I(2 * nj)}, a, b{I(nj)}.R0, b{I(nj)}.R1);");
                            s.Line($"acc{I(2 * nj + 1)} = IlgpuTensorCore.{mma}(acc{I(2 * nj + 1)}, a, b{I(nj)}.R2, b{I(nj)}.R3);");
                        }
                    }
                }
                s.Line("IlgpuGroup.Barrier();");
            }
            s.Line("// Accumulator j of n8 tile i is row lane/4 (+8 for j ≥ 2), column 2·(lane%4) + j%2 of the tile."
                + (int8 ? " An int32 sum reaches the epilogue rounded to the nearest float." : ""));
            string F(string acc) => int8 ? $"(float){acc}" : acc;
            s.Line("int r0 = row0 + warp * 16 + lane / 4, r1 = r0 + 8;");
            for (int i = 0; i < nt; i++)
            {
                using (s.Block($"// n8 tile {I(i)}"))
                {
                    s.Line($"int c = col0 + {I(i * 8)} + lane % 4 * 2;");
                    s.Line($"bool first = c < {I(n)}, second = c + 1 < {I(n)};");
                    s.Line($"if (r0 < m && first) {method}_at(r0, c, {F($"acc{I(i)}.C0")}, {F($"acc{I(i)}.C1")}, second, batch{arguments});");
                    s.Line($"if (r1 < m && first) {method}_at(r1, c, {F($"acc{I(i)}.C2")}, {F($"acc{I(i)}.C3")}, second, batch{arguments});");
                }
            }
            s.Close();
            s.Line();
            IlgpuEpiloguePrinter.Print(s, epilogue, io, method);
            return s.ToString();
        }

        /// <summary>
        /// The copies of one K step into stage <c>stage</c> at depth <c>k0</c> (16-bit units): x's 128 × 32 tile (16-byte cp.async chunks
        /// when its rows are whole chunks, K % 8 == 0 halves or K % 16 == 0 int8, else one unit at a time) and w's BN × 32 tile (always
        /// chunks: its rows are KW elements, 16 bytes a multiple). Chunks outside the matrix are zero-filled and read nothing.
        /// </summary>
        private static void LoadTiles(SourceBuilder s, int n, int k, int kw, int bn, ConvGemm? conv, bool int8)
        {
            int unit = int8 ? 2 : 1;
            if (conv is not null) ImageChunks(s, conv, unit);
            else if (k % (8 * unit) == 0) Chunks(s, "aTiles", "xs", BM, "row0", "m", k / unit, BM * BKP);
            else if (int8) BytePairs(s, k);
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
            Chunks(s, "bTiles", "ws", bn, "col0", I(n), kw / unit, bn * BKP);
        }

        /// <summary>
        /// An int8 x tile whose rows are not whole 16-byte chunks (K % 16 != 0): each 16-bit slot of the tile from two bytes of x, the
        /// lower k in the low byte, either zero past K or m.
        /// </summary>
        private static void BytePairs(SourceBuilder s, int k)
        {
            using (s.Block($"for (int e = tid; e < {I(BM * BK)}; e += {I(Threads)})"))
            {
                s.Line($"int r = e / {I(BK)}, kk = e % {I(BK)}, gr = row0 + r, gk = 2 * (k0 + kk);");
                s.Line($"bool low = gr < m && gk < {I(k)}, high = gr < m && gk + 1 < {I(k)};");
                // The bytes masked as ints: ILGPU's PTX for a (byte) cast of an sbyte kept its sign (the GPU's sums went wrong, 2026-12-05).
                s.Line($"int lo = x[IlgpuMath.Select(low, gr * {I(k)} + gk, 0)] & 0xFF, hi = x[IlgpuMath.Select(high, gr * {I(k)} + gk + 1, 0)] & 0xFF;");
                s.Line($"aTiles[stage * {I(BM * BKP)} + r * {I(BKP)} + kk] = (ushort)((low ? lo : 0) | ((high ? hi : 0) << 8));");
            }
        }

        /// <summary>A rows × 32 tile of <paramref name="source"/> (rows of <paramref name="columns"/> halves) by cp.async, each thread's chunks unrolled.</summary>
        private static void Chunks(SourceBuilder s, string tile, string source, int rows, string first, string limit, int columns, int stageSize)
        {
            int chunks = rows * (BK / 8);
            for (int i = 0; i * Threads < chunks; i++)
            {
                bool partial = (i + 1) * Threads > chunks;
                int rows0 = i * Threads / (BK / 8);
                using (s.Block(partial ? $"if (chunkRow + {I(rows0)} < {I(rows)})" : $"// chunk {I(i)} of each thread"))
                {
                    s.Line($"int r = chunkRow + {I(rows0)}, gr = {first} + r, gk = k0 + chunkColumn;");
                    s.Line($"bool inside = gr < {limit} && gk < {I(columns)};");
                    s.Line($"IlgpuTensorCore.CopyAsync16(ref {tile}[stage * {I(stageSize)} + r * {I(BKP)} + chunkColumn], ref {source}[IlgpuMath.Select(inside, gr * {I(columns)} + gk, 0)], inside);");
                }
            }
        }

        /// <summary>
        /// The x tile of an implicit-GEMM convolution by cp.async: row r of the tile is output pixel (b, oy, ox), column k is channel
        /// k % C of tap (ky, kx) = (k / C / KS, k / C % KS), read at pixel (oy·S − P + ky·D, ox·S − P + kx·D) of image b; a chunk whose
        /// pixel lies in the padding, past K or past m is zero-filled and reads nothing. The tile counts 16-bit units of
        /// <paramref name="unit"/> elements (int8: 2), so a chunk's first element is k = unit · gk; C is a whole number of chunks, so
        /// its channel and the pixel's offset are whole units too.
        /// </summary>
        private static void ImageChunks(SourceBuilder s, ConvGemm conv, int unit)
        {
            int pixels = conv.OutHeight * conv.OutWidth, chunks = BM * (BK / 8);
            string element = unit == 1 ? "gk" : $"{I(unit)} * gk";
            for (int i = 0; i * Threads < chunks; i++)
            {
                using (s.Block($"// chunk {I(i)} of each thread"))
                {
                    s.Line($"int r = chunkRow + {I(i * Threads / (BK / 8))}, gr = row0 + r, gk = k0 + chunkColumn, e = {element};");
                    s.Line($"int b = gr / {I(pixels)}, pixel = gr % {I(pixels)}, tap = e / {I(conv.Channels)}, channel = e % {I(conv.Channels)};");
                    s.Line($"int iy = pixel / {I(conv.OutWidth)} * {I(conv.Stride)} - {I(conv.Padding)} + tap / {I(conv.Kernel)} * {I(conv.Dilation)};");
                    s.Line($"int ix = pixel % {I(conv.OutWidth)} * {I(conv.Stride)} - {I(conv.Padding)} + tap % {I(conv.Kernel)} * {I(conv.Dilation)};");
                    s.Line($"bool inside = gr < m && e < {I(conv.Depth)} && iy >= 0 && iy < {I(conv.Height)} && ix >= 0 && ix < {I(conv.Width)};");
                    string channel = unit == 1 ? "channel" : $"channel / {I(unit)}";
                    s.Line($"IlgpuTensorCore.CopyAsync16(ref aTiles[stage * {I(BM * BKP)} + r * {I(BKP)} + chunkColumn], "
                        + $"ref xs[IlgpuMath.Select(inside, ((b * {I(conv.Height)} + iy) * {I(conv.Width)} + ix) * {I(conv.Channels / unit)} + {channel}, 0)], inside);");
                }
            }
        }

        private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
    }
}
