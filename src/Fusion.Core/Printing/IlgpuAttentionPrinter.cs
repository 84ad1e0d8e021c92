using System.Globalization;
using System.Linq;

namespace Fusion.Compiler
{
    /// <summary>
    /// Prints the flash-attention template (attention.cut: softmax(q·kᵀ·scale, causal)·v for any sequence lengths, operands as
    /// strided views) as an ILGPU kernel, for the shapes its fast configuration takes: HEAD_DIM a multiple of 16 up to 64 (ViT's 64)
    /// and no bias. One group of 128 threads takes 128 query rows of one (batch, head), each warp two m-tiles of 16; K and V stream
    /// through dynamic shared memory in tiles of 64 keys, double-buffered by cp.async; q·kᵀ and p·v on mma.sync with fp32
    /// accumulators; the softmax online in the log2 domain (a running maximum and sum per row, the output rescaled when the maximum
    /// grows). The step over one key tile is printed twice, unrolled as ILGPU needs it: a checked one (a key past Tk or above the
    /// diagonal for some row of the warp, every score tested) and the fast one (the maximum on raw scores, the scale inside the
    /// exponential's argument; a negative scale is applied to −q).
    /// </summary>
    internal static class IlgpuAttentionPrinter
    {
        /// <summary>Threads a group (the template's AT_THREADS): 4 warps.</summary>
        public const int Threads = 128;

        /// <summary>Query rows a group takes (AT_BM for head dims up to 64: two m-tiles a warp) and keys a shared tile holds (AT_BN).</summary>
        public const int QueryRows = 128, KeyRows = 64;

        private const int Tiles = 2; // m-tiles of 16 rows a warp
        private const string Log2E = "1.442695f";

        /// <summary>Whether the ILGPU version takes this kernel: HEAD_DIM a multiple of 16 up to 64, no bias (causal or not).</summary>
        public static bool Supports(int headDim, bool hasBias) => headDim % 16 == 0 && headDim > 0 && headDim <= 64 && !hasBias;

        /// <summary>Halves of dynamic shared memory a group uses (the template's AT_SMEM_BYTES / 2): q, then two k and two v tiles.</summary>
        public static int SharedHalves(int headDim) => (QueryRows + 4 * KeyRows) * (headDim + 8);

        /// <summary>Every io variant of kernel <paramref name="name"/>; "" for a shape only the CUDA C takes.</summary>
        public static string PrintAll(string name, int headDim, bool causal, bool hasBias, LoopKernel? epilogue) =>
            Supports(headDim, hasBias)
                ? string.Join("\n", IlgpuEpiloguePrinter.IoVariants(epilogue).Select(io => Print(name, headDim, causal, epilogue, io)))
                : "";

        public static string Print(string name, int d, bool causal, LoopKernel? epilogue, FloatType io)
        {
            string method = IlgpuEpiloguePrinter.MethodName(name, epilogue, io);
            int sr = d + 8, kBase = QueryRows * sr, vBase = kBase + 2 * KeyRows * sr, tileHalves = KeyRows * sr;
            var s = new SourceBuilder();
            s.Line($"/// <summary>{name}{(epilogue?.UsesIoType == true ? $" with io = {io.Short()}" : "")}: the flash-attention template (head dim {I(d)}{(causal ? ", causal" : "")}) on the tensor cores"
                + $"{(epilogue is null ? "" : " with its epilogue")}; launch: B·heads·⌈Tq/{I(QueryRows)}⌉ groups of {I(Threads)}, {I(2 * SharedHalves(d))} bytes of dynamic shared memory.</summary>");
            string output = epilogue is null ? ", global::ILGPU.ArrayView<IlgpuHalf> output" : "";
            string tail = epilogue is null ? "" : ", long e_rows_b, long e_rows_h, int e_cols_h, int batch" + IlgpuEpiloguePrinter.Parameters(epilogue, io);
            s.Line($"internal static void {method}(global::ILGPU.ArrayView<IlgpuHalf> q, global::ILGPU.ArrayView<IlgpuHalf> k, global::ILGPU.ArrayView<IlgpuHalf> v{output}, "
                + "int heads, int tq, int tk, float scale, long q_b, long q_h, long q_t, long k_b, long k_h, long k_t, long v_b, long v_h, long v_t, "
                + $"long o_b, long o_h, long o_t, int head_group{tail})");
            s.Line("{");
            s.Indent();
            s.Line($"// q [{I(QueryRows)}][{I(sr)}], two k and two v tiles [{I(KeyRows)}][{I(sr)}] (16-byte padded rows: an ldmatrix's 8 row addresses in distinct bank groups).");
            s.Line("var smem = global::ILGPU.SharedMemory.GetDynamic<ushort>();");
            s.Line("var qs = q.Cast<ushort>();");
            s.Line("var ks = k.Cast<ushort>();");
            s.Line("var vs = v.Cast<ushort>();");
            s.Line("int tid = IlgpuGroup.IdxX, warp = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;");
            s.Line($"int qBlocks = (tq + {I(QueryRows - 1)}) / {I(QueryRows)};");
            if (causal)
            {
                s.Line("// Groups of head_group (batch, head) pairs take their query blocks longest first (the launcher's HeadGroup).");
                s.Line("int pairCount = IlgpuGrid.DimX / qBlocks, group = IlgpuGrid.IdxX / (head_group * qBlocks), within = IlgpuGrid.IdxX % (head_group * qBlocks);");
                s.Line("int groupPairs = pairCount - group * head_group < head_group ? pairCount - group * head_group : head_group;");
                s.Line("int bh = group * head_group + within % groupPairs, qb = qBlocks - 1 - within / groupPairs;");
            }
            else
            {
                s.Line("int bh = IlgpuGrid.IdxX / qBlocks, qb = IlgpuGrid.IdxX % qBlocks;");
            }
            s.Line("int image = bh / heads, head = bh % heads, q0 = qb * " + I(QueryRows) + ";");
            s.Line("long qp = image * q_b + head * q_h, kp = image * k_b + head * k_h, vp = image * v_b + head * v_h;");
            if (causal)
            {
                s.Line($"int lastRow = (q0 + {I(QueryRows)} < tq ? q0 + {I(QueryRows)} : tq) - 1;");
                s.Line("int keyEnd = tk < lastRow + 1 ? tk : lastRow + 1; // keys above the block's last row are masked for all its rows");
            }
            else
            {
                s.Line("int keyEnd = tk;");
            }
            s.Line($"int tiles = (keyEnd + {I(KeyRows - 1)}) / {I(KeyRows)};");
            s.Line($"int chunk = tid % {I(d / 8)} * 8, chunkRow = tid / {I(d / 8)}; // each thread copies 16-byte chunks of one column, rows {I(Threads / (d / 8))} apart");
            LoadTile(s, "smem", "0", "qs", "qp", "q_t", "q0", "tq", QueryRows, d);
            using (s.Block("if (tiles > 0)"))
            {
                LoadTile(s, "smem", I(kBase), "ks", "kp", "k_t", "0", "tk", KeyRows, d);
                LoadTile(s, "smem", I(vBase), "vs", "vp", "v_t", "0", "tk", KeyRows, d);
            }
            s.Line("IlgpuTensorCore.Commit();");
            s.Line();
            s.Line($"int wrow = warp * {I(16 * Tiles)}; // the warp's first row in the block");
            s.Line("// Scores go straight into the log2 domain; a negative scale is applied as a positive one to −q (q's sign bits flipped).");
            s.Line("uint flip = scale < 0.0f ? 0x80008000u : 0u;");
            s.Line($"float sl = (scale < 0.0f ? -scale : scale) * {Log2E};");
            for (int mt = 0; mt < Tiles; mt++)
            {
                for (int dt = 0; dt < d / 8; dt++) s.Line($"var o{I(mt)}_{I(dt)} = default(IlgpuAccumulator4);");
                s.Line($"float m{I(mt)}_0 = float.NegativeInfinity, m{I(mt)}_1 = float.NegativeInfinity, l{I(mt)}_0 = 0.0f, l{I(mt)}_1 = 0.0f; // running maximum and this lane's part of the sum, per row");
                for (int kk = 0; kk < d / 16; kk++) s.Line($"var qa{I(mt)}_{I(kk)} = default(IlgpuFragment4);");
            }
            s.Line($"int qLane = (wrow + lane % 16) * {I(sr)} + lane / 16 * 8;");
            s.Line("// k is stored [key][dim]: each 8×8 matrix row is one key, so plain ldmatrix gives the \"col\" B fragments of two key tiles.");
            s.Line($"int kLane = (lane / 16 * 8 + lane % 8) * {I(sr)} + lane / 8 % 2 * 8;");
            s.Line("// v is stored [key][dim]; .trans turns its 8×8 (key, dim) matrices into \"col\" B fragments: (keys 0-7, dims 0-7), (keys 8-15, dims 0-7), (keys 0-7, dims 8-15), (keys 8-15, dims 8-15).");
            s.Line($"int vLane = (lane / 8 % 2 * 8 + lane % 8) * {I(sr)} + lane / 16 * 8;");
            using (s.Block("for (int tile = 0; tile < tiles; tile++)"))
            {
                s.Line("int buffer = tile & 1;");
                using (s.Block("if (tile + 1 < tiles)"))
                {
                    s.Line("// The buffer filled two tiles ago was last read before the barrier that ended that iteration: free to refill.");
                    s.Line($"int next = (tile + 1) * {I(KeyRows)};");
                    LoadTile(s, "smem", $"{I(kBase)} + (buffer ^ 1) * {I(tileHalves)}", "ks", "kp", "k_t", "next", "tk", KeyRows, d);
                    LoadTile(s, "smem", $"{I(vBase)} + (buffer ^ 1) * {I(tileHalves)}", "vs", "vp", "v_t", "next", "tk", KeyRows, d);
                }
                s.Line("IlgpuTensorCore.Commit();");
                s.Line("IlgpuTensorCore.WaitAllButOne(); // everything but the newest group: q and this tile's k and v are in");
                s.Line("IlgpuGroup.Barrier();");
                using (s.Block("if (tile == 0)"))
                {
                    for (int mt = 0; mt < Tiles; mt++)
                        for (int kk = 0; kk < d / 16; kk++)
                        {
                            string qa = $"qa{I(mt)}_{I(kk)}";
                            s.Line($"{qa} = IlgpuTensorCore.LoadMatrix4(ref smem[qLane + {I(mt * 16 * sr + kk * 16)}]);");
                            s.Line($"{qa}.R0 ^= flip; {qa}.R1 ^= flip; {qa}.R2 ^= flip; {qa}.R3 ^= flip;");
                        }
                }
                s.Line($"int key0 = tile * {I(KeyRows)};");
                s.Line($"int kTile = {I(kBase)} + buffer * {I(tileHalves)} + kLane, vTile = {I(vBase)} + buffer * {I(tileHalves)} + vLane;");
                s.Line($"// The fast step needs every key of the tile valid for every row of the warp.");
                s.Line($"bool isChecked = key0 + {I(KeyRows)} > tk{(causal ? $" || key0 + {I(KeyRows - 1)} > q0 + wrow" : "")};");
                using (s.Block("if (isChecked)")) Step(s, d, sr, causal, checkedKeys: true);
                using (s.Block("else")) Step(s, d, sr, causal, checkedKeys: false);
                s.Line("IlgpuGroup.Barrier(); // every warp is done with this buffer before the next iteration refills it");
            }
            s.Line();
            if (epilogue is null) s.Line("var pairs = output.Cast<IlgpuHalf2>();");
            else s.Line("long erows = image * e_rows_b + head * e_rows_h;");
            for (int mt = 0; mt < Tiles; mt++)
                for (int r = 0; r < 2; r++)
                {
                    using (s.Block($"// rows wrow + {I(mt * 16 + 8 * r)} + g"))
                    {
                        s.Line($"int row = q0 + wrow + {I(mt * 16 + 8 * r)} + g;");
                        s.Line($"float sum = l{I(mt)}_{I(r)} + IlgpuWarp.ShuffleXor(l{I(mt)}_{I(r)}, 1);");
                        s.Line("sum += IlgpuWarp.ShuffleXor(sum, 2);");
                        using (s.Block("if (row < tq)"))
                        {
                            s.Line("float inv = sum > 0.0f ? 1.0f / sum : 0.0f; // a row whose every key is masked gets 0");
                            if (epilogue is null) s.Line("long dst = image * o_b + head * o_h + row * o_t + 2 * t;");
                            else s.Line("int erow = (int)(erows + row), ecol = head * e_cols_h + 2 * t;");
                            for (int dt = 0; dt < d / 8; dt++)
                            {
                                string a = $"o{I(mt)}_{I(dt)}.C{I(2 * r)} * inv", b = $"o{I(mt)}_{I(dt)}.C{I(2 * r + 1)} * inv";
                                s.Line(epilogue is null
                                    ? $"pairs[(dst + {I(8 * dt)}) / 2] = new IlgpuHalf2 {{ P0 = IlgpuMath.Pack({a}, {b}) }};"
                                    : $"{method}_at(erow, ecol + {I(8 * dt)}, {a}, {b}, true, batch{IlgpuEpiloguePrinter.Arguments(epilogue)});");
                            }
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

        /// <summary>
        /// Rows [row0, row0 + count) of a [T, d] view (base offset <paramref name="offset"/>, token stride <paramref name="stride"/>) into the
        /// shared tile at <paramref name="target"/> by cp.async, 16-byte chunks; rows ≥ <paramref name="rows"/> become zeros without a read.
        /// </summary>
        private static void LoadTile(SourceBuilder s, string smem, string target, string view, string offset, string stride, string row0, string rows, int count, int d)
        {
            int chunksPerRow = d / 8, chunks = count * chunksPerRow;
            bool even = Threads % chunksPerRow == 0;
            for (int i = 0; i * Threads < chunks; i++)
            {
                bool partial = (i + 1) * Threads > chunks;
                using (s.Block(partial ? $"if (tid + {I(i * Threads)} < {I(chunks)})" : $"// chunk {I(i)}"))
                {
                    if (even) s.Line($"int r = chunkRow + {I(i * (Threads / chunksPerRow))}, c = chunk;");
                    else s.Line($"int e = tid + {I(i * Threads)}, r = e / {I(chunksPerRow)}, c = e % {I(chunksPerRow)} * 8;");
                    s.Line($"bool inside = {row0} + r < {rows};");
                    s.Line($"IlgpuTensorCore.CopyAsync16(ref {smem}[{target} + r * {I(d + 8)} + c], ref {view}[IlgpuMath.Select(inside, {offset} + ({row0} + r) * {stride} + c, 0L)], inside);");
                }
            }
        }

        /// <summary>One step of 64 keys from the shared tiles at kTile and vTile into the running softmax state and the outputs.</summary>
        private static void Step(SourceBuilder s, int d, int sr, bool causal, bool checkedKeys)
        {
            const int scoreTiles = KeyRows / 8;
            s.Line($"// Scores of 16 rows × {I(KeyRows)} keys per m-tile: tile nt holds keys 8nt…8nt+7; accumulator j is row g + 8·(j / 2), key 8nt + 2t + j % 2.");
            for (int mt = 0; mt < Tiles; mt++)
                for (int nt = 0; nt < scoreTiles; nt++) s.Line($"var s{I(mt)}_{I(nt)} = default(IlgpuAccumulator4);");
            for (int kk = 0; kk < d / 16; kk++)
            {
                using (s.Block($"// dims {I(16 * kk)}..{I(16 * kk + 15)}: the step's four K fragments, then each m-tile through them"))
                {
                    for (int nj = 0; nj < KeyRows / 16; nj++) s.Line($"var b{I(nj)} = IlgpuTensorCore.LoadMatrix4(ref smem[kTile + {I(nj * 16 * sr + kk * 16)}]);");
                    for (int mt = 0; mt < Tiles; mt++)
                        for (int nj = 0; nj < KeyRows / 16; nj++)
                        {
                            s.Line($"s{I(mt)}_{I(2 * nj)} = IlgpuTensorCore.Mma(s{I(mt)}_{I(2 * nj)}, qa{I(mt)}_{I(kk)}, b{I(nj)}.R0, b{I(nj)}.R1);");
                            s.Line($"s{I(mt)}_{I(2 * nj + 1)} = IlgpuTensorCore.Mma(s{I(mt)}_{I(2 * nj + 1)}, qa{I(mt)}_{I(kk)}, b{I(nj)}.R2, b{I(nj)}.R3);");
                        }
                }
            }
            // The fast step takes the maximum on raw scores and applies the (non-negative) scale inside the exponential's argument.
            string applied = checkedKeys ? "" : " * sl";
            for (int mt = 0; mt < Tiles; mt++)
                for (int r = 0; r < 2; r++)
                {
                    using (s.Block($"// m-tile {I(mt)}, row wrow + {I(mt * 16 + 8 * r)} + g"))
                    {
                        string M = $"m{I(mt)}_{I(r)}", L = $"l{I(mt)}_{I(r)}";
                        if (checkedKeys)
                        {
                            s.Line($"int row = q0 + wrow + {I(mt * 16 + 8 * r)} + g;");
                            for (int nt = 0; nt < scoreTiles; nt++)
                                for (int e = 0; e < 2; e++)
                                {
                                    string key = $"key0 + {I(8 * nt + e)} + 2 * t";
                                    string valid = causal ? $"{key} < tk && {key} <= row" : $"{key} < tk";
                                    string x = $"s{I(mt)}_{I(nt)}.C{I(2 * r + e)}";
                                    s.Line($"{x} = IlgpuMath.Select({valid}, {x} * sl, float.NegativeInfinity);");
                                }
                        }
                        s.Line("float tileMax = " + RowMax($"s{I(mt)}_", scoreTiles, r) + ";");
                        s.Line("tileMax = IlgpuMath.Max(tileMax, IlgpuWarp.ShuffleXor(tileMax, 1));");
                        s.Line("tileMax = IlgpuMath.Max(tileMax, IlgpuWarp.ShuffleXor(tileMax, 2));");
                        s.Line($"float mNew = IlgpuMath.Max({M}, tileMax{applied});");
                        s.Line("// While every key so far is masked the maximum is −∞: subtract 0 instead, so 2^(−∞ − base) = 0 and no NaN appears.");
                        s.Line("float baseline = mNew == float.NegativeInfinity ? 0.0f : mNew;");
                        s.Line($"float correction = IlgpuMath.Exp2({M} - baseline);");
                        s.Line($"{M} = mNew;");
                        s.Line($"{L} *= correction;");
                        for (int dt = 0; dt < d / 8; dt++)
                        {
                            s.Line($"o{I(mt)}_{I(dt)}.C{I(2 * r)} *= correction;");
                            s.Line($"o{I(mt)}_{I(dt)}.C{I(2 * r + 1)} *= correction;");
                        }
                        for (int nt = 0; nt < scoreTiles; nt++)
                        {
                            string x0 = $"s{I(mt)}_{I(nt)}.C{I(2 * r)}", x1 = $"s{I(mt)}_{I(nt)}.C{I(2 * r + 1)}";
                            s.Line($"{x0} = IlgpuMath.Exp2({x0}{applied} - baseline);");
                            s.Line($"{x1} = IlgpuMath.Exp2({x1}{applied} - baseline);");
                            s.Line($"{L} += {x0} + {x1};");
                        }
                    }
                }
            s.Line("// o += p·v: the probabilities of key tiles 2kc and 2kc + 1, packed to fp16, are the A fragment of key step kc.");
            for (int kc = 0; kc < KeyRows / 16; kc++)
            {
                using (s.Block($"// keys {I(16 * kc)}..{I(16 * kc + 15)}"))
                {
                    for (int dp = 0; dp < d / 16; dp++) s.Line($"var v{I(dp)} = IlgpuTensorCore.LoadMatrix4Transposed(ref smem[vTile + {I(kc * 16 * sr + dp * 16)}]);");
                    for (int mt = 0; mt < Tiles; mt++)
                    {
                        string Pair(int nt, int j) => $"IlgpuMath.Pack(s{I(mt)}_{I(nt)}.C{I(j)}, s{I(mt)}_{I(nt)}.C{I(j + 1)})";
                        s.Line($"var p{I(mt)} = new IlgpuFragment4 {{ R0 = {Pair(2 * kc, 0)}, R1 = {Pair(2 * kc, 2)}, R2 = {Pair(2 * kc + 1, 0)}, R3 = {Pair(2 * kc + 1, 2)} }};");
                        for (int dp = 0; dp < d / 16; dp++)
                        {
                            s.Line($"o{I(mt)}_{I(2 * dp)} = IlgpuTensorCore.Mma(o{I(mt)}_{I(2 * dp)}, p{I(mt)}, v{I(dp)}.R0, v{I(dp)}.R1);");
                            s.Line($"o{I(mt)}_{I(2 * dp + 1)} = IlgpuTensorCore.Mma(o{I(mt)}_{I(2 * dp + 1)}, p{I(mt)}, v{I(dp)}.R2, v{I(dp)}.R3);");
                        }
                    }
                }
            }
        }

        /// <summary>
        /// Max(Max(P0.Cj, P0.Cj+1), …) over score tiles P0 … P(tiles−1) (<paramref name="prefix"/> and the tile's index), accumulators
        /// j = 2r, 2r + 1: a row's maximum over one lane's scores (the window attention's too).
        /// </summary>
        public static string RowMax(string prefix, int tiles, int r)
        {
            var terms = Enumerable.Range(0, tiles).SelectMany(nt => new[] { $"{prefix}{I(nt)}.C{I(2 * r)}", $"{prefix}{I(nt)}.C{I(2 * r + 1)}" }).ToList();
            string result = terms[0];
            for (int i = 1; i < terms.Count; i++) result = $"IlgpuMath.Max({result}, {terms[i]})";
            return result;
        }

        private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
    }
}
