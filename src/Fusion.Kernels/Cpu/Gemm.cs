using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Fusion.Kernels.Cpu;

/// <summary>
/// Cache-blocked single-precision matrix multiply, C = A·B or C = A·Bᵀ, all row-major.
/// B is packed per (K block × N block) into panels of <see cref="NR"/> columns so the micro-kernel
/// streams it contiguously from L1/L2; A is read in place (its rows are already contiguous in K).
/// Work is split over (batch, row block) pairs; each worker packs B into its own buffer, which
/// costs 1/<see cref="MC"/> of the multiply and avoids any synchronization between workers.
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

        int rowBlocks = (m + MC - 1) / MC;
        int items = checked(batch * rowBlocks);
        int packLength = KC * ((Math.Min(NC, n) + NR - 1) / NR * NR);
        fixed (float* pa = a, pb = b, pc = c)
        {
            // Pointers cannot be captured by the lambda; their addresses can (the spans stay pinned for the call).
            nint aAddr = (nint)pa, bAddr = (nint)pb, cAddr = (nint)pc;
            Parallelism.For(items, (long)Math.Min(m, MC) * n * k, (start, end) =>
            {
                float[] pack = ArrayPool<float>.Shared.Rent(packLength);
                try
                {
                    fixed (float* pp = pack)
                    {
                        for (int item = start; item < end; item++)
                        {
                            int i = item / rowBlocks;
                            int row0 = item % rowBlocks * MC;
                            Block(
                                (float*)aAddr + i * strideA, (float*)bAddr + i * strideB, (float*)cAddr + i * strideC,
                                n, k, row0, Math.Min(m, row0 + MC), transposeB, pp);
                        }
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(pack);
                }
            });
        }
    }

    private static void CheckLength(int length, int batch, long stride, long matrix, string name)
    {
        long needed = (batch - 1) * stride + matrix;
        if (length < needed)
            throw new ArgumentException($"GEMM operand {name} holds {length} elements, needs {needed}", name);
    }

    /// <summary>Rows [row0, row1) of one product, all columns.</summary>
    private static unsafe void Block(float* a, float* b, float* c, int n, int k, int row0, int row1, bool transposeB, float* pack)
    {
        if (k == 0)
        {
            // An empty sum: C is zero (the micro-kernel would never run to write it).
            new Span<float>(c + (long)row0 * n, (row1 - row0) * n).Clear();
            return;
        }
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                if (transposeB) PackTransposed(b, k, jc, nc, pc, kc, pack);
                else Pack(b, n, jc, nc, pc, kc, pack);
                for (int ir = row0; ir < row1; ir += MR)
                {
                    int mr = Math.Min(MR, row1 - ir);
                    for (int jr = 0; jr < nc; jr += NR)
                    {
                        Micro(
                            a + (long)ir * k + pc, k, pack + (long)(jr / NR) * kc * NR, kc,
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
