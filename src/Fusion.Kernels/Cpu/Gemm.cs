using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Fusion.Kernels.Cpu;

/// <summary>
/// Cache-blocked single-precision matrix multiply, C = A·B or C = A·Bᵀ, all row-major.
/// B is packed per (K block × N block) into panels of NR columns (two vectors: 32 on 512-bit vectors, else two
/// <see cref="Vector{T}"/>s) so the micro-kernel
/// streams it contiguously from L1/L2; A is read in place (its rows are already contiguous in K), or, for a convolution, gathered
/// block by block from its image (Gemm.Convolution.cs).
/// Work is split over (batch, row block, column block) items, the blocks made smaller (down to two micro-tiles) until there
/// are at least two items per core, so a small-M product (a batch-1 transformer's late stages: 49 or 196 rows) still
/// uses every core. Each worker packs its B block into its own buffer, which costs 1/(block rows) of the multiply and avoids
/// any synchronization between workers.
/// The block loop, the packing and the micro-kernels are compiled fully optimized at their first call and never re-jitted
/// (AggressiveOptimization): under tiered compilation the JIT replaces them with profile-guided code, and on the lent Xeon host
/// one core then ran 512³ at 48 % of its FMA peak against 80 % with tiering off (docs/perf.md, 2026-12-05).
/// </summary>
public static partial class Gemm
{
    /// <summary>Rows of C per micro-tile: 6 rows × 2 vectors = 12 accumulators fit the vector registers.</summary>
    private const int MR = 6;

    /// <summary>K depth of a packed block: a KC × NR panel (16 KiB at NR = 16, 32 KiB at NR = 32) stays in L1.</summary>
    private const int KC = 256;

    /// <summary>Columns of B per packed block: a KC × NC block (256 KiB) stays in L2.</summary>
    private const int NC = 256;

    /// <summary>Rows of A per work item: MC × KC of A (96 KiB) plus the packed block stay in L2.</summary>
    private const int MC = 96;

    /// <summary>
    /// Whether the micro-kernel runs on 512-bit vectors: where the JIT accelerates them (AVX-512), a tile is twice as wide
    /// for the same instructions. <see cref="Vector{T}"/> stays 256 bits there unless the process says otherwise.
    /// </summary>
    internal static readonly bool Wide = Vector512.IsHardwareAccelerated;

    /// <summary>Columns of C per micro-tile (two vectors).</summary>
    private static int PanelWidth(bool wide) => 2 * (wide ? Vector512<float>.Count : Vector<float>.Count);

    /// <summary>C [m, n] = A [m, k] · B [k, n], or A · Bᵀ with B [n, k] when <paramref name="transposeB"/>.</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool transposeB) =>
        Multiply(a, b, c, m, n, k, transposeB, default);

    /// <summary>The same with <paramref name="epilogue"/> applied to each tile as it is stored.</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool transposeB,
        GemmEpilogue epilogue) => Multiply(a, b, c, m, n, k, transposeB, epilogue, Wide);

    /// <summary>The same with the 512-bit micro-kernel or the <see cref="Vector{T}"/> one (tests run both).</summary>
    internal static unsafe void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool transposeB,
        GemmEpilogue epilogue, bool wide)
    {
        CheckEpilogue(epilogue, m, n);
        fixed (float* bias = epilogue.Bias, residual = epilogue.Residual)
            MultiplyBatched(a, b, c, 1, m, n, k, transposeB, 0, 0, 0, wide, new TileEpilogue((nint)bias, epilogue.Activation, (nint)residual, n, epilogue.ResidualFirst));
    }

    /// <summary>
    /// C [m, n] = A [m, k] · B with B packed once beforehand (<see cref="Pack"/>): a layer's weight, whose packing would
    /// otherwise be repeated by every call and every row block.
    /// </summary>
    public static void Multiply(ReadOnlySpan<float> a, PackedMatrix b, Span<float> c, int m) => Multiply(a, b, c, m, default);

    /// <summary>The same with <paramref name="epilogue"/> applied to each tile as it is stored: a Linear layer and its bias, activation and residual in one pass.</summary>
    public static void Multiply(ReadOnlySpan<float> a, PackedMatrix b, Span<float> c, int m, GemmEpilogue epilogue) =>
        Multiply(a, b, c, m, epilogue, copyA: false);

    /// <summary>
    /// The same with A read in place or copied block by block first (<see cref="Copied"/>): the bench's variant, measured on the
    /// lent Xeon host without a consistent gain (docs/perf.md, 2026-12-05), so products read A in place; tests run both.
    /// </summary>
    internal static unsafe void Multiply(ReadOnlySpan<float> a, PackedMatrix b, Span<float> c, int m, GemmEpilogue epilogue, bool copyA)
    {
        ArgumentNullException.ThrowIfNull(b);
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        int n = b.Columns, k = b.Depth;
        if (m == 0 || n == 0) return;
        CheckLength(a.Length, 1, 0, (long)m * k, nameof(a));
        CheckLength(c.Length, 1, 0, (long)m * n, nameof(c));
        CheckEpilogue(epilogue, m, n);
        fixed (float* pa = a, pb = b.Panels, bias = epilogue.Bias, residual = epilogue.Residual)
        {
            nint bAddr = (nint)pb;
            Run(copyA ? Copied(pa, 0, k) : Stored(pa, 0, k), aPackLength: copyA ? MC * b.DepthBlock : 0, c, 1, m, n, k, 0, b.DepthBlock,
                (float* _, int _, int col, int _, int pc, int kc) => (float*)bAddr + b.Offset(col, pc, kc),
                needsPack: false, b.Wide, new TileEpilogue((nint)bias, epilogue.Activation, (nint)residual, n, epilogue.ResidualFirst));
        }
    }

    /// <summary>A bias holds one value per column, a residual one per element of C.</summary>
    private static void CheckEpilogue(GemmEpilogue epilogue, int m, int n)
    {
        if (!epilogue.Bias.IsEmpty && epilogue.Bias.Length != n)
            throw new ArgumentException($"GEMM epilogue bias holds {epilogue.Bias.Length} elements, C has {n} columns", nameof(epilogue));
        if (!epilogue.Residual.IsEmpty && epilogue.Residual.Length < (long)m * n)
            throw new ArgumentException($"GEMM epilogue residual holds {epilogue.Residual.Length} elements, C has {(long)m * n}", nameof(epilogue));
    }

    /// <summary>
    /// B [k, n] (or Bᵀ with B [n, k] when <paramref name="transposeB"/>) laid out as the micro-kernel reads it: blocks of
    /// <see cref="NC"/> columns, each in K blocks of <see cref="KC"/>, each as zero-padded panels of NR columns.
    /// </summary>
    public static PackedMatrix Pack(ReadOnlySpan<float> b, int n, int k, bool transposeB) => Pack(b, n, k, transposeB, Wide);

    /// <summary><see cref="Pack(ReadOnlySpan{float}, int, int, bool)"/> for the 512-bit micro-kernel or the <see cref="Vector{T}"/> one (tests run both).</summary>
    internal static PackedMatrix Pack(ReadOnlySpan<float> b, int n, int k, bool transposeB, bool wide) => Pack(b, n, k, transposeB, wide, KC);

    /// <summary>The same in depth blocks of <paramref name="depthBlock"/> rather than <see cref="KC"/> (tests and the bench try others).</summary>
    internal static unsafe PackedMatrix Pack(ReadOnlySpan<float> b, int n, int k, bool transposeB, bool wide, int depthBlock)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(depthBlock);
        int nr = PanelWidth(wide);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        CheckLength(b.Length, 1, 0, (long)n * k, nameof(b));
        var packed = new PackedMatrix(n, k, nr, NC, depthBlock, wide);
        fixed (float* pb = b, pp = packed.Panels)
        {
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                for (int pc = 0; pc < k; pc += depthBlock)
                {
                    int kc = Math.Min(depthBlock, k - pc);
                    float* target = pp + packed.Offset(jc, pc, kc);
                    if (transposeB) PackTransposed(pb, k, jc, nc, pc, kc, target, nr);
                    else Pack(pb, n, jc, nc, pc, kc, target, nr);
                }
            }
        }
        return packed;
    }

    /// <summary>
    /// <paramref name="batch"/> independent products: Cᵢ = Aᵢ·Bᵢ (or Aᵢ·Bᵢᵀ) where Aᵢ starts at
    /// i·<paramref name="strideA"/> in <paramref name="a"/>, and likewise for B and C.
    /// A B stride of 0 shares one B across the batch.
    /// </summary>
    public static void MultiplyBatched(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c,
        int batch, int m, int n, int k, bool transposeB, long strideA, long strideB, long strideC) =>
        MultiplyBatched(a, b, c, batch, m, n, k, transposeB, strideA, strideB, strideC, Wide, default);

    /// <summary>The same with the 512-bit micro-kernel or the <see cref="Vector{T}"/> one (tests run both), and an epilogue (batch 1).</summary>
    internal static unsafe void MultiplyBatched(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c,
        int batch, int m, int n, int k, bool transposeB, long strideA, long strideB, long strideC, bool wide, TileEpilogue epilogue)
    {
        int nr = PanelWidth(wide);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (batch == 0 || m == 0 || n == 0) return;
        CheckLength(a.Length, batch, strideA, (long)m * k, nameof(a));
        CheckLength(b.Length, batch, strideB, (long)n * k, nameof(b));
        CheckLength(c.Length, batch, strideC, (long)m * n, nameof(c));

        fixed (float* pa = a, pb = b)
        {
            nint bAddr = (nint)pb;
            // B packed per item into the worker's buffer: the panels of columns [col, col + nc) and depths [pc, pc + kc).
            Run(Stored(pa, strideA, k), aPackLength: 0, c, batch, m, n, k, strideC, KC, (float* buffer, int i, int col, int nc, int pc, int kc) =>
            {
                float* matrix = (float*)bAddr + i * strideB;
                if (transposeB) PackTransposed(matrix, k, col, nc, pc, kc, buffer, nr);
                else Pack(matrix, n, col, nc, pc, kc, buffer, nr);
                return buffer;
            }, needsPack: true, wide, epilogue);
        }
    }

    /// <summary>
    /// The panels of matrix <c>batch</c>'s B for columns [col, col + nc) (within one <see cref="NC"/> block) and depths
    /// [pc, pc + kc): packed into <c>buffer</c> now, or found in a <see cref="PackedMatrix"/>.
    /// </summary>
    private unsafe delegate float* PanelSource(float* buffer, int batch, int col, int nc, int pc, int kc);

    /// <summary>
    /// Rows [row0, row0 + rows) × depths [pc, pc + kc) of matrix <c>batch</c>'s A: the address of the first and the distance between
    /// rows (<paramref name="lda"/>). A stored A is read in place (<see cref="Stored"/>); a convolution's windows are gathered into
    /// <c>buffer</c> (rows × kc, <see cref="Windows"/>).
    /// </summary>
    private unsafe delegate float* ARowSource(float* buffer, int batch, int row0, int rows, int pc, int kc, out int lda);

    /// <summary>A stored row-major A [m, k] per matrix, matrix i at i·<paramref name="strideA"/> (pinned by the caller for the call).</summary>
    private static unsafe ARowSource Stored(float* a, long strideA, int k)
    {
        nint aAddr = (nint)a; // pointers cannot be captured by a lambda; their addresses can
        return (float* _, int i, int row0, int _, int pc, int _, out int lda) =>
        {
            lda = k;
            return (float*)aAddr + i * strideA + (long)row0 * k + pc;
        };
    }

    /// <summary>
    /// A stored row-major A [m, k] copied block by block into the worker's buffer, rows kc apart: in place, rows whose distance
    /// is a multiple of 4 KiB (K a multiple of 1024) fall into the same L1 sets, six of them beside the B panel's lines.
    /// </summary>
    private static unsafe ARowSource Copied(float* a, long strideA, int k)
    {
        nint aAddr = (nint)a;
        return (float* buffer, int i, int row0, int rows, int pc, int kc, out int lda) =>
        {
            float* source = (float*)aAddr + i * strideA + (long)row0 * k + pc;
            for (int r = 0; r < rows; r++)
                new ReadOnlySpan<float>(source + (long)r * k, kc).CopyTo(new Span<float>(buffer + (long)r * kc, kc));
            lda = kc;
            return buffer;
        };
    }

    /// <summary>
    /// Splits the product into items (<see cref="BlockSizes"/>) and runs them on the cores, A's rows from <paramref name="aRows"/>
    /// (which gathers into a buffer of <paramref name="aPackLength"/> floats a worker when it needs one), B's panels from <paramref name="panels"/>.
    /// </summary>
    private static unsafe void Run(ARowSource aRows, int aPackLength, Span<float> c, int batch, int m, int n, int k, long strideC,
        int depthBlock, PanelSource panels, bool needsPack, bool wide, TileEpilogue epilogue)
    {
        int nr = PanelWidth(wide);
        var (mc, nc) = BlockSizes(batch, m, n, k, nr);
        int rowBlocks = (m + mc - 1) / mc, colBlocks = (n + nc - 1) / nc;
        int items = checked(batch * rowBlocks * colBlocks);
        int packLength = needsPack ? depthBlock * ((Math.Min(nc, n) + nr - 1) / nr * nr) : 0;
        fixed (float* pc = c)
        {
            nint cAddr = (nint)pc;
            Parallelism.For(items, (long)Math.Min(m, mc) * Math.Min(n, nc) * k, (start, end) =>
            {
                float[]? pack = needsPack ? ArrayPool<float>.Shared.Rent(packLength) : null;
                float[]? aPack = aPackLength > 0 ? ArrayPool<float>.Shared.Rent(aPackLength) : null;
                try
                {
                    fixed (float* pp = pack, ap = aPack)
                    {
                        for (int item = start; item < end; item++)
                        {
                            int i = item / (rowBlocks * colBlocks);
                            // Consecutive items share a column block (its B block, K × NC, stays in the core's L2 for the next
                            // row block) rather than a row block (MC × K of A, the smaller): the larger operand is the one reused.
                            int row0 = item % rowBlocks * mc;
                            int col0 = item / rowBlocks % colBlocks * nc;
                            Block(aRows, ap, (float*)cAddr + i * strideC, i, n, k, row0, Math.Min(m, row0 + mc), col0,
                                Math.Min(n, col0 + nc), depthBlock, panels, pp, wide, epilogue);
                        }
                    }
                }
                finally
                {
                    if (pack is not null) ArrayPool<float>.Shared.Return(pack);
                    if (aPack is not null) ArrayPool<float>.Shared.Return(aPack);
                }
            });
        }
    }

    /// <summary>
    /// Rows and columns of C per work item: <see cref="MC"/> × <see cref="NC"/>, halved (columns first, to two panels; then
    /// rows, to two micro-tile rows) while the product has fewer than two items per core and enough work to share. Column
    /// widths stay divisors of <see cref="NC"/>, so an item's columns lie in one block of a <see cref="PackedMatrix"/>.
    /// </summary>
    private static (int Rows, int Columns) BlockSizes(int batch, int m, int n, int k, int nr)
    {
        int mc = MC, nc = NC, wanted = 2 * Parallelism.Workers;
        long Items() => (long)batch * ((m + mc - 1) / mc) * ((n + nc - 1) / nc);
        if ((long)batch * m * n * k < Parallelism.MinParallelWork * wanted) return (mc, nc);
        // Columns first: every row block packs (or reads) all of B's columns it covers, so fewer row blocks move less of B.
        while (Items() < wanted && nc > 2 * nr) nc = Math.Max(2 * nr, (nc / 2 + nr - 1) / nr * nr);
        while (Items() < wanted && mc > 2 * MR) mc = Math.Max(2 * MR, (mc / 2 + MR - 1) / MR * MR);
        return (mc, nc);
    }

    private static void CheckLength(int length, int batch, long stride, long matrix, string name)
    {
        long needed = (batch - 1) * stride + matrix;
        if (length < needed)
            throw new ArgumentException($"GEMM operand {name} holds {length} elements, needs {needed}", name);
    }

    /// <summary>Rows [row0, row1) × columns [col0, col1) of one product, columns in packed blocks of at most <see cref="NC"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static unsafe void Block(ARowSource aRows, float* aPack, float* c, int batch, int n, int k, int row0, int row1, int col0, int col1,
        int depthBlock, PanelSource panels, float* pack, bool wide, TileEpilogue epilogue)
    {
        int nr = PanelWidth(wide);
        // A partial tile is computed whole into this, then copied out (here, not in the micro-kernels: a stackalloc there
        // keeps the JIT from holding their accumulators in registers).
        float* scratch = stackalloc float[MR * nr];
        if (k == 0)
        {
            // An empty sum: C is zero (the micro-kernel would never run to write it), then the epilogue.
            for (int r = row0; r < row1; r++)
            {
                new Span<float>(c + (long)r * n + col0, col1 - col0).Clear();
                if (!epilogue.IsEmpty) epilogue.ApplyRow(c + (long)r * n + col0, r, col0, col1 - col0);
            }
            return;
        }
        for (int jc = col0; jc < col1; jc += NC)
        {
            int nc = Math.Min(NC, col1 - jc);
            for (int pc = 0; pc < k; pc += depthBlock)
            {
                int kc = Math.Min(depthBlock, k - pc);
                float* panel = panels(pack, batch, jc, nc, pc, kc);
                float* aBlock = aRows(aPack, batch, row0, row1 - row0, pc, kc, out int lda);
                // The epilogue follows the last depth block's store, when C's values are final.
                TileEpilogue* last = pc + kc == k && !epilogue.IsEmpty ? &epilogue : null;
                // A panel of B (kc × NR, 32 KiB at most) stays in L1 while the micro-tiles walk down the rows, A's rows coming
                // from L2 (the order BLIS uses; rows outside, panels inside measured 84 % against 88 % of peak at 1024³ on one core).
                for (int jr = 0; jr < nc; jr += nr)
                {
                    for (int ir = row0; ir < row1; ir += MR)
                    {
                        int mr = Math.Min(MR, row1 - ir);
                        float* tile = c + (long)ir * n + jc + jr, columns = panel + (long)(jr / nr) * kc * nr;
                        float* rows = aBlock + (long)(ir - row0) * lda;
                        int width = Math.Min(nr, nc - jr);
                        if (wide) Micro512(rows, lda, columns, kc, tile, n, mr, width, accumulate: pc > 0, scratch);
                        else Micro(rows, lda, columns, kc, tile, n, mr, width, accumulate: pc > 0, scratch);
                        // The epilogue right after the tile's last store, while it is in L1. (Not in the micro-kernel itself: the
                        // epilogue's registers there make the JIT keep the accumulators on the stack through the loop.)
                        if (last is not null)
                            for (int r = 0; r < mr; r++) last->ApplyRow(tile + (long)r * n, ir + r, jc + jr, width);
                    }
                }
            }
        }
    }

    /// <summary>Packs B [k, n] rows [pc, pc+kc) × columns [jc, jc+nc) into zero-padded NR-wide panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static unsafe void Pack(float* b, int n, int jc, int nc, int pc, int kc, float* pack, int nr)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int width = Math.Min(nr, nc - jr);
            float* panel = pack + (long)(jr / nr) * kc * nr;
            for (int kk = 0; kk < kc; kk++)
            {
                var src = new ReadOnlySpan<float>(b + (long)(pc + kk) * n + jc + jr, width);
                var dst = new Span<float>(panel + kk * nr, nr);
                src.CopyTo(dst);
                dst[width..].Clear();
            }
        }
    }

    /// <summary>Packs Bᵀ where B is [n, k]: the panel element (kk, j) is B[jc + jr + j, pc + kk].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static unsafe void PackTransposed(float* b, int k, int jc, int nc, int pc, int kc, float* pack, int nr)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int width = Math.Min(nr, nc - jr);
            float* panel = pack + (long)(jr / nr) * kc * nr;
            for (int j = 0; j < nr; j++)
            {
                if (j < width)
                {
                    float* src = b + (long)(jc + jr + j) * k + pc;
                    for (int kk = 0; kk < kc; kk++) panel[kk * nr + j] = src[kk];
                }
                else
                {
                    for (int kk = 0; kk < kc; kk++) panel[kk * nr + j] = 0f;
                }
            }
        }
    }

    /// <summary>
    /// One MR × NR tile of C from kc steps: rows of A (stride <paramref name="lda"/>) times a packed panel.
    /// Partial tiles (fewer rows or columns) compute a full tile into a scratch buffer: rows past
    /// <paramref name="mr"/> repeat the last valid row and padded panel columns are zero, so only
    /// the copy-out needs to know the real size.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static unsafe void Micro(float* a, int lda, float* panel, int kc, float* c, int ldc, int mr, int nr, bool accumulate, float* scratch)
    {
        float* a0 = a;
        float* a1 = a + (long)Math.Min(1, mr - 1) * lda;
        float* a2 = a + (long)Math.Min(2, mr - 1) * lda;
        float* a3 = a + (long)Math.Min(3, mr - 1) * lda;
        float* a4 = a + (long)Math.Min(4, mr - 1) * lda;
        float* a5 = a + (long)Math.Min(5, mr - 1) * lda;
        Vector<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        int vl = Vector<float>.Count, nrStep = 2 * vl;
        float* p = panel;
        // The FMAs are written out, not in a helper taking the accumulators by ref: an address-taken accumulator lives on the
        // stack, and twelve stores an iteration cost more than the FMAs (the same in Micro512).
        for (int kk = 0; kk < kc; kk++, p += nrStep)
        {
            var b0 = Vector.Load(p);
            var b1 = Vector.Load(p + vl);
            var x0 = new Vector<float>(a0[kk]);
            c00 = Vector.FusedMultiplyAdd(x0, b0, c00);
            c01 = Vector.FusedMultiplyAdd(x0, b1, c01);
            var x1 = new Vector<float>(a1[kk]);
            c10 = Vector.FusedMultiplyAdd(x1, b0, c10);
            c11 = Vector.FusedMultiplyAdd(x1, b1, c11);
            var x2 = new Vector<float>(a2[kk]);
            c20 = Vector.FusedMultiplyAdd(x2, b0, c20);
            c21 = Vector.FusedMultiplyAdd(x2, b1, c21);
            var x3 = new Vector<float>(a3[kk]);
            c30 = Vector.FusedMultiplyAdd(x3, b0, c30);
            c31 = Vector.FusedMultiplyAdd(x3, b1, c31);
            var x4 = new Vector<float>(a4[kk]);
            c40 = Vector.FusedMultiplyAdd(x4, b0, c40);
            c41 = Vector.FusedMultiplyAdd(x4, b1, c41);
            var x5 = new Vector<float>(a5[kk]);
            c50 = Vector.FusedMultiplyAdd(x5, b0, c50);
            c51 = Vector.FusedMultiplyAdd(x5, b1, c51);
        }

        bool full = mr == MR && nr == nrStep;
        float* tile = full ? c : scratch;
        int stride = full ? ldc : nrStep;
        bool add = full && accumulate;
        StoreRow(tile, vl, c00, c01, add);
        StoreRow(tile + stride, vl, c10, c11, add);
        StoreRow(tile + 2L * stride, vl, c20, c21, add);
        StoreRow(tile + 3L * stride, vl, c30, c31, add);
        StoreRow(tile + 4L * stride, vl, c40, c41, add);
        StoreRow(tile + 5L * stride, vl, c50, c51, add);
        if (!full) CopyOut(tile, nrStep, c, ldc, mr, nr, accumulate);
    }

    /// <summary>The partial tile's real rows and columns from the full tile computed into <paramref name="tile"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static unsafe void CopyOut(float* tile, int stride, float* c, int ldc, int mr, int nr, bool accumulate)
    {
        for (int r = 0; r < mr; r++)
        {
            float* src = tile + r * stride;
            float* dst = c + (long)r * ldc;
            for (int j = 0; j < nr; j++) dst[j] = accumulate ? dst[j] + src[j] : src[j];
        }
    }

    /// <summary><see cref="Micro"/> on 512-bit vectors: the same 6-row tile, 32 columns wide.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // compiled once, fully optimized: see the class summary
    private static unsafe void Micro512(float* a, int lda, float* panel, int kc, float* c, int ldc, int mr, int nr, bool accumulate, float* scratch)
    {
        float* a0 = a;
        float* a1 = a + (long)Math.Min(1, mr - 1) * lda;
        float* a2 = a + (long)Math.Min(2, mr - 1) * lda;
        float* a3 = a + (long)Math.Min(3, mr - 1) * lda;
        float* a4 = a + (long)Math.Min(4, mr - 1) * lda;
        float* a5 = a + (long)Math.Min(5, mr - 1) * lda;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        const int vl = 16, nrStep = 32;
        float* p = panel;
        for (int kk = 0; kk < kc; kk++, p += nrStep)
        {
            var b0 = Vector512.Load(p);
            var b1 = Vector512.Load(p + vl);
            var x0 = Vector512.Create(a0[kk]);
            c00 = Vector512.FusedMultiplyAdd(x0, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(x0, b1, c01);
            var x1 = Vector512.Create(a1[kk]);
            c10 = Vector512.FusedMultiplyAdd(x1, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(x1, b1, c11);
            var x2 = Vector512.Create(a2[kk]);
            c20 = Vector512.FusedMultiplyAdd(x2, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(x2, b1, c21);
            var x3 = Vector512.Create(a3[kk]);
            c30 = Vector512.FusedMultiplyAdd(x3, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(x3, b1, c31);
            var x4 = Vector512.Create(a4[kk]);
            c40 = Vector512.FusedMultiplyAdd(x4, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(x4, b1, c41);
            var x5 = Vector512.Create(a5[kk]);
            c50 = Vector512.FusedMultiplyAdd(x5, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(x5, b1, c51);
        }
        bool full = mr == MR && nr == nrStep;
        float* tile = full ? c : scratch;
        int stride = full ? ldc : nrStep;
        bool add = full && accumulate;
        StoreRow(tile, c00, c01, add);
        StoreRow(tile + stride, c10, c11, add);
        StoreRow(tile + 2L * stride, c20, c21, add);
        StoreRow(tile + 3L * stride, c30, c31, add);
        StoreRow(tile + 4L * stride, c40, c41, add);
        StoreRow(tile + 5L * stride, c50, c51, add);
        if (!full) CopyOut(tile, nrStep, c, ldc, mr, nr, accumulate);
    }

    private static unsafe void StoreRow(float* dst, Vector512<float> v0, Vector512<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Vector512.Load(dst);
            v1 += Vector512.Load(dst + 16);
        }
        v0.Store(dst);
        v1.Store(dst + 16);
    }

    private static unsafe void StoreRow(float* dst, int vl, Vector<float> v0, Vector<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Vector.Load(dst);
            v1 += Vector.Load(dst + vl);
        }
        v0.Store(dst);
        v1.Store(dst + vl);
    }
}
