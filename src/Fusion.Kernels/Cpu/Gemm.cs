using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Fusion.Kernels.Cpu;

/// <summary>
/// Cache-blocked single-precision matrix multiply, C = A·B or C = A·Bᵀ, all row-major.
/// B is packed per (K block × N block) into panels of <see cref="NR"/> columns so the micro-kernel
/// streams it contiguously from L1/L2; A is read in place (its rows are already contiguous in K).
/// Work is split over (batch, row block, column block) items, the blocks made smaller (down to two micro-tiles) until there
/// are at least two items per core, so a small-M product (a batch-1 transformer's late stages: 49 or 196 rows) still
/// uses every core. Each worker packs its B block into its own buffer, which costs 1/(block rows) of the multiply and avoids
/// any synchronization between workers.
/// </summary>
public static class Gemm
{
    /// <summary>Rows of C per micro-tile: 6 rows × 2 vectors = 12 accumulators fit the vector registers.</summary>
    private const int MR = 6;

    /// <summary>K depth of a packed block: a KC × NR panel (16 KiB at NR = 16) stays in L1.</summary>
    private const int KC = 256;

    /// <summary>Columns of B per packed block: a KC × NC block (256 KiB) stays in L2.</summary>
    private const int NC = 256;

    /// <summary>Rows of A per work item: MC × KC of A (96 KiB) plus the packed block stay in L2.</summary>
    private const int MC = 96;

    private static readonly int VL = Vector<float>.Count;

    /// <summary>Columns of C per micro-tile (two vectors).</summary>
    private static readonly int NR = 2 * Vector<float>.Count;

    /// <summary>C [m, n] = A [m, k] · B [k, n], or A · Bᵀ with B [n, k] when <paramref name="transposeB"/>.</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool transposeB) =>
        MultiplyBatched(a, b, c, 1, m, n, k, transposeB, 0, 0, 0);

    /// <summary>
    /// C [m, n] = A [m, k] · B with B packed once beforehand (<see cref="Pack"/>): a layer's weight, whose packing would
    /// otherwise be repeated by every call and every row block.
    /// </summary>
    public static unsafe void Multiply(ReadOnlySpan<float> a, PackedMatrix b, Span<float> c, int m)
    {
        ArgumentNullException.ThrowIfNull(b);
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        int n = b.Columns, k = b.Depth;
        if (m == 0 || n == 0) return;
        CheckLength(a.Length, 1, 0, (long)m * k, nameof(a));
        CheckLength(c.Length, 1, 0, (long)m * n, nameof(c));
        fixed (float* pb = b.Panels)
        {
            nint bAddr = (nint)pb;
            Run(a, c, 1, m, n, k, 0, 0, (float* _, int _, int col, int _, int pc, int kc) => (float*)bAddr + b.Offset(col, pc, kc), needsPack: false);
        }
    }

    /// <summary>
    /// B [k, n] (or Bᵀ with B [n, k] when <paramref name="transposeB"/>) laid out as the micro-kernel reads it: blocks of
    /// <see cref="NC"/> columns, each in K blocks of <see cref="KC"/>, each as zero-padded panels of NR columns.
    /// </summary>
    public static unsafe PackedMatrix Pack(ReadOnlySpan<float> b, int n, int k, bool transposeB)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        CheckLength(b.Length, 1, 0, (long)n * k, nameof(b));
        var packed = new PackedMatrix(n, k, NR, NC, KC);
        fixed (float* pb = b, pp = packed.Panels)
        {
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                for (int pc = 0; pc < k; pc += KC)
                {
                    int kc = Math.Min(KC, k - pc);
                    float* target = pp + packed.Offset(jc, pc, kc);
                    if (transposeB) PackTransposed(pb, k, jc, nc, pc, kc, target);
                    else Pack(pb, n, jc, nc, pc, kc, target);
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
    public static unsafe void MultiplyBatched(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c,
        int batch, int m, int n, int k, bool transposeB, long strideA, long strideB, long strideC)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (batch == 0 || m == 0 || n == 0) return;
        CheckLength(a.Length, batch, strideA, (long)m * k, nameof(a));
        CheckLength(b.Length, batch, strideB, (long)n * k, nameof(b));
        CheckLength(c.Length, batch, strideC, (long)m * n, nameof(c));

        fixed (float* pb = b)
        {
            nint bAddr = (nint)pb;
            // B packed per item into the worker's buffer: the panels of columns [col, col + nc) and depths [pc, pc + kc).
            Run(a, c, batch, m, n, k, strideA, strideC, (float* buffer, int i, int col, int colEnd, int pc, int kc) =>
            {
                float* matrix = (float*)bAddr + i * strideB;
                int nc = Math.Min(NC, colEnd - col);
                if (transposeB) PackTransposed(matrix, k, col, nc, pc, kc, buffer);
                else Pack(matrix, n, col, nc, pc, kc, buffer);
                return buffer;
            }, needsPack: true);
        }
    }

    /// <summary>
    /// The panels of matrix <c>batch</c>'s B for columns from <c>col</c> (to <c>colEnd</c> or the end of one <see cref="NC"/>
    /// block) and depths [pc, pc + kc): packed into <c>buffer</c> now, or found in a <see cref="PackedMatrix"/>.
    /// </summary>
    private unsafe delegate float* PanelSource(float* buffer, int batch, int col, int colEnd, int pc, int kc);

    /// <summary>Splits the product into items (<see cref="BlockSizes"/>) and runs them on the cores, B's panels from <paramref name="panels"/>.</summary>
    private static unsafe void Run(ReadOnlySpan<float> a, Span<float> c, int batch, int m, int n, int k, long strideA, long strideC,
        PanelSource panels, bool needsPack)
    {
        var (mc, nc) = BlockSizes(batch, m, n, k);
        int rowBlocks = (m + mc - 1) / mc, colBlocks = (n + nc - 1) / nc;
        int items = checked(batch * rowBlocks * colBlocks);
        int packLength = needsPack ? KC * ((Math.Min(nc, n) + NR - 1) / NR * NR) : 0;
        fixed (float* pa = a, pc = c)
        {
            // Pointers cannot be captured by the lambda; their addresses can (the spans stay pinned for the call).
            nint aAddr = (nint)pa, cAddr = (nint)pc;
            Parallelism.For(items, (long)Math.Min(m, mc) * Math.Min(n, nc) * k, (start, end) =>
            {
                float[]? pack = needsPack ? ArrayPool<float>.Shared.Rent(packLength) : null;
                try
                {
                    fixed (float* pp = pack)
                    {
                        for (int item = start; item < end; item++)
                        {
                            int i = item / (rowBlocks * colBlocks);
                            int row0 = item / colBlocks % rowBlocks * mc;
                            int col0 = item % colBlocks * nc;
                            Block((float*)aAddr + i * strideA, (float*)cAddr + i * strideC, i, n, k, row0, Math.Min(m, row0 + mc), col0,
                                Math.Min(n, col0 + nc), panels, pp);
                        }
                    }
                }
                finally
                {
                    if (pack is not null) ArrayPool<float>.Shared.Return(pack);
                }
            });
        }
    }

    /// <summary>
    /// Rows and columns of C per work item: <see cref="MC"/> × <see cref="NC"/>, halved (columns first, to two panels; then
    /// rows, to two micro-tile rows) while the product has fewer than two items per core and enough work to share. Column
    /// widths stay divisors of <see cref="NC"/>, so an item's columns lie in one block of a <see cref="PackedMatrix"/>.
    /// </summary>
    private static (int Rows, int Columns) BlockSizes(int batch, int m, int n, int k)
    {
        int mc = MC, nc = NC, wanted = 2 * Environment.ProcessorCount;
        long Items() => (long)batch * ((m + mc - 1) / mc) * ((n + nc - 1) / nc);
        if ((long)batch * m * n * k < Parallelism.MinParallelWork * wanted) return (mc, nc);
        // Columns first: every row block packs (or reads) all of B's columns it covers, so fewer row blocks move less of B.
        while (Items() < wanted && nc > 2 * NR) nc = Math.Max(2 * NR, (nc / 2 + NR - 1) / NR * NR);
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
    private static unsafe void Block(float* a, float* c, int batch, int n, int k, int row0, int row1, int col0, int col1, PanelSource panels, float* pack)
    {
        if (k == 0)
        {
            // An empty sum: C is zero (the micro-kernel would never run to write it).
            for (int r = row0; r < row1; r++) new Span<float>(c + (long)r * n + col0, col1 - col0).Clear();
            return;
        }
        for (int jc = col0; jc < col1; jc += NC)
        {
            int nc = Math.Min(NC, col1 - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                float* panel = panels(pack, batch, jc, col1, pc, kc);
                for (int ir = row0; ir < row1; ir += MR)
                {
                    int mr = Math.Min(MR, row1 - ir);
                    for (int jr = 0; jr < nc; jr += NR)
                    {
                        Micro(
                            a + (long)ir * k + pc, k, panel + (long)(jr / NR) * kc * NR, kc,
                            c + (long)ir * n + jc + jr, n, mr, Math.Min(NR, nc - jr), accumulate: pc > 0);
                    }
                }
            }
        }
    }

    /// <summary>Packs B [k, n] rows [pc, pc+kc) × columns [jc, jc+nc) into zero-padded NR-wide panels.</summary>
    private static unsafe void Pack(float* b, int n, int jc, int nc, int pc, int kc, float* pack)
    {
        for (int jr = 0; jr < nc; jr += NR)
        {
            int width = Math.Min(NR, nc - jr);
            float* panel = pack + (long)(jr / NR) * kc * NR;
            for (int kk = 0; kk < kc; kk++)
            {
                var src = new ReadOnlySpan<float>(b + (long)(pc + kk) * n + jc + jr, width);
                var dst = new Span<float>(panel + kk * NR, NR);
                src.CopyTo(dst);
                dst[width..].Clear();
            }
        }
    }

    /// <summary>Packs Bᵀ where B is [n, k]: the panel element (kk, j) is B[jc + jr + j, pc + kk].</summary>
    private static unsafe void PackTransposed(float* b, int k, int jc, int nc, int pc, int kc, float* pack)
    {
        for (int jr = 0; jr < nc; jr += NR)
        {
            int width = Math.Min(NR, nc - jr);
            float* panel = pack + (long)(jr / NR) * kc * NR;
            for (int j = 0; j < NR; j++)
            {
                if (j < width)
                {
                    float* src = b + (long)(jc + jr + j) * k + pc;
                    for (int kk = 0; kk < kc; kk++) panel[kk * NR + j] = src[kk];
                }
                else
                {
                    for (int kk = 0; kk < kc; kk++) panel[kk * NR + j] = 0f;
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
    private static unsafe void Micro(float* a, int lda, float* panel, int kc, float* c, int ldc, int mr, int nr, bool accumulate)
    {
        float* a0 = a;
        float* a1 = a + (long)Math.Min(1, mr - 1) * lda;
        float* a2 = a + (long)Math.Min(2, mr - 1) * lda;
        float* a3 = a + (long)Math.Min(3, mr - 1) * lda;
        float* a4 = a + (long)Math.Min(4, mr - 1) * lda;
        float* a5 = a + (long)Math.Min(5, mr - 1) * lda;
        Vector<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        int vl = VL, nrStep = NR;
        float* p = panel;
        for (int kk = 0; kk < kc; kk++, p += nrStep)
        {
            var b0 = Vector.Load(p);
            var b1 = Vector.Load(p + vl);
            RankOne(a0[kk], b0, b1, ref c00, ref c01);
            RankOne(a1[kk], b0, b1, ref c10, ref c11);
            RankOne(a2[kk], b0, b1, ref c20, ref c21);
            RankOne(a3[kk], b0, b1, ref c30, ref c31);
            RankOne(a4[kk], b0, b1, ref c40, ref c41);
            RankOne(a5[kk], b0, b1, ref c50, ref c51);
        }

        if (mr == MR && nr == nrStep)
        {
            StoreRow(c, vl, c00, c01, accumulate);
            StoreRow(c + ldc, vl, c10, c11, accumulate);
            StoreRow(c + 2L * ldc, vl, c20, c21, accumulate);
            StoreRow(c + 3L * ldc, vl, c30, c31, accumulate);
            StoreRow(c + 4L * ldc, vl, c40, c41, accumulate);
            StoreRow(c + 5L * ldc, vl, c50, c51, accumulate);
            return;
        }

        float* tile = stackalloc float[MR * nrStep];
        StoreRow(tile, vl, c00, c01, false);
        StoreRow(tile + nrStep, vl, c10, c11, false);
        StoreRow(tile + 2 * nrStep, vl, c20, c21, false);
        StoreRow(tile + 3 * nrStep, vl, c30, c31, false);
        StoreRow(tile + 4 * nrStep, vl, c40, c41, false);
        StoreRow(tile + 5 * nrStep, vl, c50, c51, false);
        for (int r = 0; r < mr; r++)
        {
            float* src = tile + r * nrStep;
            float* dst = c + (long)r * ldc;
            for (int j = 0; j < nr; j++) dst[j] = accumulate ? dst[j] + src[j] : src[j];
        }
    }

    /// <summary>One row of the tile's update: c += a·b over the tile's two vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RankOne(float a, Vector<float> b0, Vector<float> b1, ref Vector<float> c0, ref Vector<float> c1)
    {
        var x = new Vector<float>(a);
        c0 = Vector.FusedMultiplyAdd(x, b0, c0);
        c1 = Vector.FusedMultiplyAdd(x, b1, c1);
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
