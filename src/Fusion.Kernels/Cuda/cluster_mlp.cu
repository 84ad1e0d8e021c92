// An MLP over few rows in one kernel (issue 18 items 2–3): out[m, c] = residual[m, c] + b2[c] + Σ_j w2[c, j]·h[m, j], with
// h[m, j] = fp16(gelu(Σ_k x[m, k]·w1[j, k] + b1[j])), for C channels and H hidden units. Where the rows are few (Swin-T's stages 2
// and 3 at batch 1: 784 and 196 rows) a kernel that gives each block whole rows would read every weight once a block with a handful
// of blocks busy; here the hidden units are split instead, so that every SM reads a different slice of the weights once:
//
// A thread-block cluster of FUSION_MLP_SPLIT blocks takes a tile of 64 rows; block r of the cluster owns hidden units
// r·HC … (r + 1)·HC − 1 (HC = H / split). It copies the tile's x, its HC rows of W1 and its HC columns of W2 into shared memory
// (cp.async, in five groups so that fc1's first quarter of k starts while the rest arrive). Its warps split the work four ways by rows
// (16 each) and G = HC / 32 ways by columns, so that each warp's chain of instructions is short (a first form of four warps, each
// all HC units and all C outputs, ran one warp a scheduler through 2000-odd instructions and was slower than the two GEMMs). A warp
// computes fc1 for its 16 rows × 32 hidden units on mma.sync, applies bias + GELU and stores the values rounded to fp16 (as the two
// GEMMs store the hidden tensor) into the block's hidden buffer; after a barrier it multiplies its rows' HC hidden values by its
// C / G columns of the W2 slice: the block's partial sums of those outputs, staged as floats where x and W1 were (each written by
// one warp: no atomics, the same sums every run). After a cluster barrier block r sums the column slice r·C/split … of every
// block's partial through distributed shared memory (ld.shared::cluster, the blocks in rank order, so the result does not depend
// on timing), adds b2 and the residual and stores fp16; a second barrier keeps each block's partials alive until its peers have
// read them.
//
// Compute capability 9.0 (clusters); fp16 in and out, fp32 sums. GELU by erf (FUSION_MLP_ERF 1) or in the tanh form (0).
// Shared memory: 64·(C + 8) + HC·(C + 8) + C·(HC + 8) halves (rows padded by 16 bytes so that ldmatrix's eight rows fall in
// different banks) + the hidden buffer, 64·(HC + 8) halves; the launcher (ClusterMlp) picks the split so that it fits.
#include "prelude.cuh"

#ifndef FUSION_MLP_C
#define FUSION_MLP_C 384
#endif
#ifndef FUSION_MLP_H
#define FUSION_MLP_H 1536
#endif
#ifndef FUSION_MLP_SPLIT
#define FUSION_MLP_SPLIT 16
#endif
#ifndef FUSION_MLP_ERF
#define FUSION_MLP_ERF 1
#endif

namespace cmlp
{
constexpr int C = FUSION_MLP_C, H = FUSION_MLP_H, Split = FUSION_MLP_SPLIT, HC = H / Split;
constexpr int HW = 32, Groups = HC / HW;             // fc1: hidden units a warp; the warps' column groups
constexpr int Rows = 64, Threads = 4 * Groups * 32;   // a tile's rows (4 warps × 16), times the column groups
constexpr int CW = C / Groups, Pass = 32;            // fc2's output columns a warp, and a pass
constexpr int XS = C + 8, W1S = C + 8, W2S = HC + 8, HS = HC + 8;  // row strides in halves
constexpr int PS = C + 8;                             // the partials' row stride in floats
constexpr int Parts = 4, KPart = C / Parts;           // fc1's k in quarters, each its own copy group
constexpr int XAt = 0, W1At = XAt + Rows * XS * 2, W2At = W1At + HC * W1S * 2, HAt = W2At + C * W2S * 2, SharedBytes = HAt + Rows * HS * 2;
constexpr bool Erf = FUSION_MLP_ERF != 0;          // GELU by erf, else the tanh form
constexpr int Owned = C / Split;                      // output columns this block sums over the cluster
static_assert(H % Split == 0 && HC % HW == 0 && HC >= 64 && HC <= 128, "cluster_mlp: a block's hidden units 64, 96 or 128");
static_assert(C % HC == 0 && CW % Pass == 0 && KPart % 16 == 0, "cluster_mlp: channels a multiple of 64 and of the block's hidden units");
static_assert(Owned % 4 == 0 && Owned * Split == C, "cluster_mlp: each block sums whole groups of four columns");
static_assert(Rows * PS * 4 <= W2At, "cluster_mlp: the partials fit where x and W1 were");

// 8-byte units: two floats of a partial, four halves of b2, the residual and the output.
struct __align__(8) Floats2 { float lo, hi; };
struct __align__(8) Halves4 { half2 lo, hi; };

// k columns [k0, k0 + KPart) of the tile's x (rows past m zero-filled) and of the block's W1 rows, as cp.async copies.
FUSION_DEVICE void load_k_part(unsigned base, const half* x, const half* w1, int row0, int m, int j0, int k0, int t)
{
    for (int i = t; i < Rows * (KPart / 8); i += Threads)
    {
        const int r = i / (KPart / 8), c = k0 + (i % (KPart / 8)) * 8, gr = row0 + r;
        cp_async16_or_zero(base + XAt + (r * XS + c) * 2, x + (long long)(gr < m ? gr : 0) * C + c, gr < m);
    }
    for (int i = t; i < HC * (KPart / 8); i += Threads)
    {
        const int r = i / (KPart / 8), c = k0 + (i % (KPart / 8)) * 8;
        cp_async16(base + W1At + (r * W1S + c) * 2, w1 + (long long)(j0 + r) * C + c);
    }
}
}  // namespace cmlp

extern "C" __global__ void __launch_bounds__(cmlp::Threads, 1) cluster_mlp(const half* __restrict__ x, const half* __restrict__ w1,
    const half* __restrict__ b1, const half* __restrict__ w2, const half* __restrict__ b2, const half* __restrict__ residual, half* __restrict__ out, int m)
{
    FUSION_AWAIT_PREVIOUS_GRID();  // first: the previous kernel's memory (prelude.cuh)
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    using namespace cmlp;
    extern __shared__ __align__(16) unsigned char cmlp_smem[];
    const unsigned base = smem_address(cmlp_smem);
    const int t = threadIdx.x, warp = t / 32, lane = t % 32, g = lane / 4, q = lane % 4;
    const unsigned rank = cluster_rank();
    const int row0 = (int)(blockIdx.x / Split) * Rows, j0 = (int)rank * HC;

    // Copy groups: x and W1 a quarter of k at a time, then the W2 slice (rows n, hidden units j0 …).
#pragma unroll
    for (int part = 0; part < Parts; ++part)
    {
        load_k_part(base, x, w1, row0, m, j0, part * KPart, t);
        cp_async_commit();
    }
    for (int i = t; i < C * (HC / 8); i += Threads)
    {
        const int n = i / (HC / 8), c = (i % (HC / 8)) * 8;
        cp_async16(base + W2At + (n * W2S + c) * 2, w2 + (long long)n * H + j0 + c);
    }
    cp_async_commit();

    // fc1: the warp's 16 rows × its 32 hidden units. ldmatrix addresses: A lanes 0–15 rows 0–15 at k 0, lanes 16–31 at k 8; B (rows
    // n, k contiguous) matrix lane / 8: n (lane / 16)·8 + lane % 8, k ((lane / 8) % 2)·8, giving b0 b1 of n-tile 0 and of n-tile 1.
    const int wr = warp % 4, wc = warp / 4;  // the warp's rows wr·16 …, hidden units wc·32 … of the block's
    const unsigned xAddr = base + XAt + ((wr * 16 + lane % 16) * XS + (lane / 16) * 8) * 2;
    const int bRow = (lane / 16) * 8 + lane % 8, bCol = ((lane / 8) % 2) * 8;
    const unsigned w1Addr = base + W1At + ((wc * HW + bRow) * W1S + bCol) * 2, w2Addr = base + W2At + (bRow * W2S + bCol) * 2;
    float h[HW / 8][4];
#pragma unroll
    for (int j = 0; j < HW / 8; ++j) h[j][0] = h[j][1] = h[j][2] = h[j][3] = 0.0f;
#pragma unroll
    for (int part = 0; part < Parts; ++part)
    {
        if (part == 0) cp_async_wait<Parts>();  // the later quarters and W2 may still be in flight
        else if (part == 1) cp_async_wait<Parts - 1>();
        else if (part == 2) cp_async_wait<Parts - 2>();
        else cp_async_wait<Parts - 3>();
        block_barrier();  // every thread's copies of this quarter have landed
#pragma unroll
        for (int kk = part * (KPart / 16); kk < (part + 1) * (KPart / 16); ++kk)
        {
            unsigned a[4];
            ldmatrix_x4(xAddr + kk * 32, a[0], a[1], a[2], a[3]);
#pragma unroll
            for (int np = 0; np < HW / 16; ++np)
            {
                unsigned b[4];
                ldmatrix_x4(w1Addr + (np * 16 * W1S + kk * 16) * 2, b[0], b[1], b[2], b[3]);
                mma_m16n8k16(h[2 * np], a, b[0], b[1]);
                mma_m16n8k16(h[2 * np + 1], a, b[2], b[3]);
            }
        }
    }

    // bias + GELU, rounded to fp16, into the hidden buffer (rows wr·16 + g and + 8, the warp's units).
#pragma unroll
    for (int j = 0; j < HW / 8; ++j)
    {
        const int unit = wc * HW + j * 8 + 2 * q;
        const half2 bias = *reinterpret_cast<const half2*>(b1 + j0 + unit);
        const float bl = half2_lo(bias), bh = half2_hi(bias);
        half2* at = reinterpret_cast<half2*>(cmlp_smem + HAt) + ((wr * 16 + g) * HS + unit) / 2;
        at[0] = floats_to_half2(fusion_gelu<Erf>(h[j][0] + bl), fusion_gelu<Erf>(h[j][1] + bh));
        at[8 * HS / 2] = floats_to_half2(fusion_gelu<Erf>(h[j][2] + bl), fusion_gelu<Erf>(h[j][3] + bh));
    }
    cp_async_wait<0>();
    block_barrier();  // W2 has landed, the hidden buffer is full, and every warp is done reading x and W1: the partials may overwrite them

    // fc2: the warp's 16 rows × its CW output columns over the block's HC hidden units (A fragments from the hidden buffer, once),
    // Pass columns at a time, staged as floats.
    unsigned hf[HC / 16][4];
    const unsigned hAddr = base + HAt + ((wr * 16 + lane % 16) * HS + (lane / 16) * 8) * 2;
#pragma unroll
    for (int kk = 0; kk < HC / 16; ++kk) ldmatrix_x4(hAddr + kk * 32, hf[kk][0], hf[kk][1], hf[kk][2], hf[kk][3]);
    float* partial = reinterpret_cast<float*>(cmlp_smem + XAt);
    const int r = wr * 16 + g;
#pragma unroll 1
    for (int pass = 0; pass < CW / Pass; ++pass)
    {
        const int col0 = wc * CW + pass * Pass;
        float o[Pass / 8][4];
#pragma unroll
        for (int j = 0; j < Pass / 8; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < HC / 16; ++kk)
#pragma unroll
            for (int np = 0; np < Pass / 16; ++np)
            {
                unsigned b[4];
                ldmatrix_x4(w2Addr + ((col0 + np * 16) * W2S + kk * 16) * 2, b[0], b[1], b[2], b[3]);
                mma_m16n8k16(o[2 * np], hf[kk], b[0], b[1]);
                mma_m16n8k16(o[2 * np + 1], hf[kk], b[2], b[3]);
            }
#pragma unroll
        for (int j = 0; j < Pass / 8; ++j)
        {
            const int c = col0 + j * 8 + 2 * q;
            *reinterpret_cast<Floats2*>(partial + r * PS + c) = Floats2{o[j][0], o[j][1]};
            *reinterpret_cast<Floats2*>(partial + (r + 8) * PS + c) = Floats2{o[j][2], o[j][3]};
        }
    }
    cluster_sync();  // every block's partials are staged

    // Columns rank·Owned … of the tile's valid rows: the cluster's partials in rank order, + b2 + the residual, as fp16.
    const int valid = m - row0 < Rows ? m - row0 : Rows, col0 = (int)rank * Owned;
    for (int i = t; i < valid * (Owned / 4); i += Threads)
    {
        const int row = i / (Owned / 4), c = col0 + (i % (Owned / 4)) * 4;
        const unsigned local = base + XAt + (unsigned)(row * PS + c) * 4;
        // Every peer's four values requested before any is added: the reads' round trips overlap instead of queueing.
        float v[Split][4];
#pragma unroll
        for (int p = 0; p < Split; ++p) cluster_load4(cluster_map(local, (unsigned)p), v[p][0], v[p][1], v[p][2], v[p][3]);
        float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
#pragma unroll
        for (int p = 0; p < Split; ++p)
        {
            s0 += v[p][0]; s1 += v[p][1]; s2 += v[p][2]; s3 += v[p][3];
        }
        const long long at = (long long)(row0 + row) * C + c;
        const Halves4 bias = *reinterpret_cast<const Halves4*>(b2 + c), res = *reinterpret_cast<const Halves4*>(residual + at);
        Halves4 stored;
        stored.lo = floats_to_half2(s0 + half2_lo(bias.lo) + half2_lo(res.lo), s1 + half2_hi(bias.lo) + half2_hi(res.lo));
        stored.hi = floats_to_half2(s2 + half2_lo(bias.hi) + half2_lo(res.hi), s3 + half2_hi(bias.hi) + half2_hi(res.hi));
        *reinterpret_cast<Halves4*>(out + at) = stored;
    }
    cluster_sync();  // the peers are done reading this block's partials
#else
    asm volatile("trap;");  // thread-block clusters: compute capability 9.0 and newer only (ClusterMlp launches it there alone)
#endif
}
