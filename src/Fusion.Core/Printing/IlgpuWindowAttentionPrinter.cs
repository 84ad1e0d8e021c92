using System.Globalization;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// Prints the window-attention template (window_attention.cut: softmax(q·kᵀ·scale + bias[h] + mask[w mod WINDOWS])·v for one
    /// (window, head) per group of 128 threads, read from the re-laid-out QKV projection [B·nW, TOKENS, HEADS, 3, HEAD_DIM]) as an
    /// ILGPU kernel: the template's tensor-core body, for the shapes it takes (HEAD_DIM a multiple of 16 up to 64, TOKENS ≤ 64; Swin's
    /// 32 and 49). q, k and v go to shared memory by cp.async in 16-byte chunks, rows padded to 64 with zeros; warp w owns query rows
    /// 16w…16w+15; q·kᵀ on mma.sync with the scores in fp32 accumulators, the softmax on those (a row lives in one lane quad), the
    /// probabilities packed to fp16 as the A operand of p·v (ldmatrix.trans for v), each result pair stored as a half2 or handed to a
    /// generated epilogue. Unrolled as ILGPU needs it, and specialized past what nvcc can see: key tiles wholly beyond TOKENS are
    /// neither multiplied nor exponentiated, and key checks are printed only in the tile that straddles TOKENS.
    /// </summary>
    internal static class IlgpuWindowAttentionPrinter
    {
        /// <summary>Threads a group: the template's 4 warps, each 16 query rows (its launch shape, which the CPU runner uses too).</summary>
        public const int Threads = 128;

        // Tokens padded to 64 rows.
        private const int Rows = 64;
        private const string Log2E = "1.442695f";

        /// <summary>Whether the template's tensor-core body (the only one printed for ILGPU) takes this shape.</summary>
        public static bool Supports(int headDim, int tokens) => headDim % 16 == 0 && headDim > 0 && headDim <= 64 && tokens > 0 && tokens <= Rows;

        /// <summary>
        /// Every io variant of the kernel <paramref name="name"/> with the template's constants (HEADS, HEAD_DIM, TOKENS, WINDOWS,
        /// HAS_MASK) and <paramref name="epilogue"/> (null: the kernel stores its own result); "" for a shape only the CUDA C takes.
        /// </summary>
        public static string PrintAll(string name, int heads, int headDim, int tokens, int windows, bool masked, LoopKernel? epilogue) =>
            Supports(headDim, tokens)
                ? string.Join("\n", IlgpuEpiloguePrinter.IoVariants(epilogue).Select(io => Print(name, heads, headDim, tokens, windows, masked, epilogue, io)))
                : "";

        public static string Print(string name, int heads, int d, int t, int windows, bool masked, LoopKernel? epilogue, FloatType io)
        {
            string method = IlgpuEpiloguePrinter.MethodName(name, epilogue, io);
            int srow = d + 8, tokenHalves = 3 * heads * d, chunksPerRow = 3 * d / 8;
            int scoreTiles = (t + 7) / 8, keySteps = (t + 15) / 16;
            var s = new SourceBuilder();
            s.Line($"/// <summary>{name}{(epilogue?.UsesIoType == true ? $" with io = {io.Short()}" : "")}: the window-attention template ({I(heads)} heads of {I(d)}, {I(t)} tokens"
                + $"{(masked ? $", masks of {I(windows)} windows" : "")}) on the tensor cores{(epilogue is null ? "" : " with its epilogue")}; launch: windows · {I(heads)} groups of {I(Threads)}.</summary>");
            string mask = masked ? ", global::ILGPU.ArrayView<IlgpuHalf> mask" : "";
            string output = epilogue is null ? ", global::ILGPU.ArrayView<IlgpuHalf> output" : "";
            string tail = epilogue is null ? "" : ", int batch" + IlgpuEpiloguePrinter.Parameters(epilogue, io);
            s.Line($"internal static void {method}(global::ILGPU.ArrayView<IlgpuHalf> qkv, global::ILGPU.ArrayView<IlgpuHalf> bias{mask}{output}, int windowsTotal, float scale{tail})");
            s.Line("{");
            s.Indent();
            s.Line("var source = qkv.Cast<ushort>();");
            s.Line($"// q, k, v one after the other, {I(Rows)} rows of {I(srow)} halves each (16-byte rows whose 8 ldmatrix addresses fall in distinct bank groups).");
            s.Line($"var tiles = global::ILGPU.SharedMemory.Allocate<ushort>({I(3 * Rows * srow)});");
            s.Line("int tid = IlgpuGroup.IdxX, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;");
            s.Line($"int head = IlgpuGrid.IdxX % {I(heads)}, window = IlgpuGrid.IdxX / {I(heads)};");
            s.Line("if (window >= windowsTotal) return;");
            s.Line($"int first = window * {I(t * tokenHalves)} + head * {I(3 * d)};");
            int chunks = Rows * chunksPerRow;
            for (int i = 0; i * Threads < chunks; i++)
            {
                bool partial = (i + 1) * Threads > chunks;
                using (s.Block(partial ? $"if (tid + {I(i * Threads)} < {I(chunks)})" : $"// chunk {I(i)} of each thread: token n, part which (q, k, v), halves d…d+7; rows ≥ {I(t)} are zero"))
                {
                    s.Line($"int e = tid + {I(i * Threads)}, n = e / {I(chunksPerRow)}, c = e % {I(chunksPerRow)}, which = c / {I(d / 8)}, dd = c % {I(d / 8)} * 8;");
                    s.Line($"bool inside = n < {I(t)};");
                    s.Line($"IlgpuTensorCore.CopyAsync16(ref tiles[which * {I(Rows * srow)} + n * {I(srow)} + dd], ref source[IlgpuMath.Select(inside, first + n * {I(tokenHalves)} + which * {I(d)} + dd, 0)], inside);");
                }
            }
            s.Line("IlgpuTensorCore.Commit();");
            s.Line("IlgpuTensorCore.WaitAll();");
            s.Line("IlgpuGroup.Barrier();");
            s.Line();
            s.Line($"// Scores: 16 query rows × {I(8 * scoreTiles)} keys ({I(scoreTiles)} tiles of 8; keys past them would only get probability 0).");
            for (int nt = 0; nt < scoreTiles; nt++) s.Line($"var s{I(nt)} = default(IlgpuAccumulator4);");
            s.Line($"int qLane = (warp * 16 + lane % 16) * {I(srow)} + lane / 16 * 8;");
            s.Line("// k is stored [key][dim]: each 8×8 matrix row is one key, so plain ldmatrix gives the \"col\" B fragments of two key tiles.");
            s.Line($"int kLane = {I(Rows * srow)} + (lane / 16 * 8 + lane % 8) * {I(srow)} + lane / 8 % 2 * 8;");
            for (int kk = 0; kk < d; kk += 16)
            {
                using (s.Block($"// dims {I(kk)}..{I(kk + 15)}"))
                {
                    s.Line($"var a = IlgpuTensorCore.LoadMatrix4(ref tiles[qLane + {I(kk)}]);");
                    for (int nj = 0; 2 * nj < scoreTiles; nj++)
                    {
                        s.Line($"var b{I(nj)} = IlgpuTensorCore.LoadMatrix4(ref tiles[kLane + {I(nj * 16 * srow + kk)}]);");
                        s.Line($"s{I(2 * nj)} = IlgpuTensorCore.Mma(s{I(2 * nj)}, a, b{I(nj)}.R0, b{I(nj)}.R1);");
                        if (2 * nj + 1 < scoreTiles) s.Line($"s{I(2 * nj + 1)} = IlgpuTensorCore.Mma(s{I(2 * nj + 1)}, a, b{I(nj)}.R2, b{I(nj)}.R3);");
                    }
                }
            }
            s.Line();
            s.Line("// Softmax per row in fp32. Accumulator j of tile nt: row g + 8·(j / 2), key 8·nt + 2t + (j % 2).");
            for (int h = 0; h < 2; h++)
            {
                using (s.Block($"// rows warp·16 + g + {I(8 * h)}"))
                {
                    s.Line($"int i = warp * 16 + g + {I(8 * h)};");
                    s.Line($"int ib = IlgpuMath.Select(i < {I(t)}, i, {I(t - 1)}); // padded query rows: computed, never stored");
                    s.Line($"int biasRow = head * {I(t * t)} + ib * {I(t)} + 2 * t;");
                    if (masked) s.Line($"int maskRow = window % {I(windows)} * {I(t * t)} + ib * {I(t)} + 2 * t;");
                    for (int nt = 0; nt < scoreTiles; nt++)
                    {
                        for (int e = 0; e < 2; e++)
                        {
                            string v = $"s{I(nt)}.C{I(2 * h + e)}";
                            int key = 8 * nt + e;
                            string value = $"{v} * scale + (float)bias[biasRow + {I(key)}]" + (masked ? $" + (float)mask[maskRow + {I(key)}]" : "");
                            if (8 * nt + 7 < t) s.Line($"{v} = {value};");
                            else
                            {
                                // The tile that straddles TOKENS: keys past it get −1e30 (probability 0) and read nothing.
                                string ok = $"{I(key)} + 2 * t < {I(t)}";
                                string safe = $"{v} * scale + (float)bias[IlgpuMath.Select({ok}, biasRow + {I(key)}, 0)]"
                                    + (masked ? $" + (float)mask[IlgpuMath.Select({ok}, maskRow + {I(key)}, 0)]" : "");
                                s.Line($"{v} = IlgpuMath.Select({ok}, {safe}, -1e30f);");
                            }
                        }
                    }
                    s.Line("float rowMax = " + IlgpuAttentionPrinter.RowMax("s", scoreTiles, h) + ";");
                    s.Line("rowMax = IlgpuMath.Max(rowMax, IlgpuWarp.ShuffleXor(rowMax, 1));");
                    s.Line("rowMax = IlgpuMath.Max(rowMax, IlgpuWarp.ShuffleXor(rowMax, 2));");
                    for (int nt = 0; nt < scoreTiles; nt++)
                        for (int e = 0; e < 2; e++)
                            s.Line($"s{I(nt)}.C{I(2 * h + e)} = IlgpuMath.Exp2((s{I(nt)}.C{I(2 * h + e)} - rowMax) * {Log2E});");
                    s.Line("float rowSum = " + string.Join(" + ", Enumerable.Range(0, scoreTiles).SelectMany(nt => new[] { $"s{I(nt)}.C{I(2 * h)}", $"s{I(nt)}.C{I(2 * h + 1)}" })) + ";");
                    s.Line("rowSum += IlgpuWarp.ShuffleXor(rowSum, 1);");
                    s.Line("rowSum += IlgpuWarp.ShuffleXor(rowSum, 2);");
                    s.Line("float inverse = 1.0f / rowSum;");
                    for (int nt = 0; nt < scoreTiles; nt++)
                        for (int e = 0; e < 2; e++)
                            s.Line($"s{I(nt)}.C{I(2 * h + e)} *= inverse;");
                }
            }
            s.Line();
            s.Line("// out = p · v: the score accumulators of key tiles 2kt and 2kt + 1, packed to fp16, are the A fragment of key step kt.");
            for (int dt = 0; dt < d / 8; dt++) s.Line($"var o{I(dt)} = default(IlgpuAccumulator4);");
            s.Line("// v is stored [key][dim]; .trans turns its 8×8 (key, dim) matrices into \"col\" B fragments: (keys 0-7, dims 0-7), (keys 8-15, dims 0-7), (keys 0-7, dims 8-15), (keys 8-15, dims 8-15).");
            s.Line($"int vLane = {I(2 * Rows * srow)} + (lane / 8 % 2 * 8 + lane % 8) * {I(srow)} + lane / 16 * 8;");
            for (int kt = 0; kt < keySteps; kt++)
            {
                using (s.Block($"// keys {I(16 * kt)}..{I(16 * kt + 15)}"))
                {
                    string Pair(int tile, int j) => tile < scoreTiles ? $"IlgpuMath.Pack(s{I(tile)}.C{I(j)}, s{I(tile)}.C{I(j + 1)})" : "0u";
                    s.Line($"var p = new IlgpuFragment4 {{ R0 = {Pair(2 * kt, 0)}, R1 = {Pair(2 * kt, 2)}, R2 = {Pair(2 * kt + 1, 0)}, R3 = {Pair(2 * kt + 1, 2)} }};");
                    for (int dp = 0; dp < d / 16; dp++)
                    {
                        s.Line($"var v{I(dp)} = IlgpuTensorCore.LoadMatrix4Transposed(ref tiles[vLane + {I(kt * 16 * srow + dp * 16)}]);");
                        s.Line($"o{I(2 * dp)} = IlgpuTensorCore.Mma(o{I(2 * dp)}, p, v{I(dp)}.R0, v{I(dp)}.R1);");
                        s.Line($"o{I(2 * dp + 1)} = IlgpuTensorCore.Mma(o{I(2 * dp + 1)}, p, v{I(dp)}.R2, v{I(dp)}.R3);");
                    }
                }
            }
            s.Line();
            s.Line($"// Row (window·{I(t)} + i) of the head-merged output, columns head·{I(d)} + 8·dt + 2t and + 1.");
            if (epilogue is null) s.Line("var pairs = output.Cast<IlgpuHalf2>();");
            for (int h = 0; h < 2; h++)
            {
                using (s.Block($"if (warp * 16 + g + {I(8 * h)} < {I(t)})"))
                {
                    s.Line($"int row = window * {I(t)} + warp * 16 + g + {I(8 * h)}, col = head * {I(d)} + 2 * t;");
                    for (int dt = 0; dt < d / 8; dt++)
                    {
                        string a = $"o{I(dt)}.C{I(2 * h)}", b = $"o{I(dt)}.C{I(2 * h + 1)}";
                        s.Line(epilogue is null
                            ? $"pairs[(row * {I(heads * d)} + col + {I(8 * dt)}) / 2] = new IlgpuHalf2 {{ P0 = IlgpuMath.Pack({a}, {b}) }};"
                            : $"{method}_at(row, col + {I(8 * dt)}, {a}, {b}, true, batch{IlgpuEpiloguePrinter.Arguments(epilogue)});");
                    }
                }
            }
            s.Close();
            if (epilogue is not null)
            {
                s.Line();
                IlgpuEpiloguePrinter.Print(s, epilogue, io, method);
            }
            return s.ToString();
        }

        private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
    }
}
