// An MLP in one kernel (issue 18 item 2): out[m, c] = residual[m, c] + b2[c] + Σ_j w2[c, j]·h[m, j], with
// h[m, j] = fp16(gelu(Σ_k x[m, k]·w1[j, k] + b1[j])), for C = 96 inputs and outputs and H = 384 hidden units (Swin-T's and
// ConvNeXt-T's first stage): the hidden tensor, four times the activations, never leaves the SM. fp16 in and out, fp32 sums, the
// hidden values rounded to fp16 as the two GEMMs store them. GELU by erf (FUSION_MLP_ERF 1, the loop IR's definition: fusion_erf)
// or in the tanh form (0, what cuBLASLt's GELU epilogue computes).
//
// Hopper only (sm_90a: warpgroup MMA); compiled for another architecture the kernel traps. A persistent block of FUSION_MLP_GROUPS
// warpgroups; all of W1 (72 KB) and W2 (72 KB) are copied into shared memory once a block; each warpgroup walks its own 64-row tiles
// (tile = block · groups + warpgroup, then the grid's stride), the next tile's rows arriving by cp.async into its second buffer. For
// each hidden chunk of 64: fc1 as wgmma m64n64k16 with both operands in shared memory (K = 96 as one 128-byte-swizzled k-block of 64
// and one 64-byte-swizzled k-block of 32, so nothing is padded), the next chunk's fc1 issued into a second accumulator set before this
// chunk's bias + GELU, which leave the values in place as fc2's A fragments (the accumulator layout of two n8 blocks is the register
// A layout of one k16 step), then fc2 as wgmma m64n96k16 with A from registers, accumulating the tile's 64 × 96 outputs. Measured
// as bench/cuda/mlp_probe.cu's Hopper form (2026-12-06, H100 and H200): 0.50–0.71× cuBLASLt's two GEMMs with the tanh form,
// 0.56–0.88× by erf. Shared memory: W1 + W2 + groups × 2 × 12 KB (216 KB for three warpgroups) + 1 KB to align the base.
#include "prelude.cuh"

#ifndef FUSION_MLP_ERF
#define FUSION_MLP_ERF 1
#endif
#ifndef FUSION_MLP_GROUPS
#define FUSION_MLP_GROUPS 3
#endif

namespace mlp
{
constexpr int C = 96, H = 384, HC = 64, Chunks = H / HC, Groups = FUSION_MLP_GROUPS, Threads = Groups * 128, TileRows = 64;
constexpr bool Erf = FUSION_MLP_ERF != 0;          // GELU by erf, else the tanh form
constexpr int W1ChunkBytes = HC * 128 + HC * 64;  // a chunk's 64 rows of W1: k 0–63 in 128-byte rows, k 64–95 in 64-byte rows
constexpr int W2ChunkBytes = C * 128;             // W2's 96 rows × the chunk's 64 hidden units
constexpr int XBufferBytes = TileRows * 128 + TileRows * 64;
constexpr int W1At = 0, W2At = Chunks * W1ChunkBytes, XAt = W2At + Chunks * W2ChunkBytes;
static_assert(XAt + Groups * 2 * XBufferBytes + 1024 <= 227 * 1024, "fused_mlp: W1, W2 and the row buffers must fit in shared memory");

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// Where the 16-byte chunk c of row r lies in a 128-byte-swizzled block (c ^ r mod 8) and a 64-byte-swizzled one (c ^ (r / 2) mod 4).
FUSION_DEVICE unsigned at128(int r, int c) { return (unsigned)(r * 128 + ((c ^ (r & 7)) << 4)); }
FUSION_DEVICE unsigned at64(int r, int c) { return (unsigned)(r * 64 + ((c ^ ((r >> 1) & 3)) << 4)); }
// Matrix descriptors: start / 16, leading offset 1 (unused by a swizzled K-major operand), stride offset = the next 8 rows, swizzle
// mode (1: 128 bytes, 2: 64 bytes). A k16 step within a block is the start plus 32 bytes (2 in the descriptor's units).
FUSION_DEVICE unsigned long long desc128(unsigned addr) { return (unsigned long long)((addr & 0x3FFFF) >> 4) | (1ull << 16) | (64ull << 32) | (1ull << 62); }
FUSION_DEVICE unsigned long long desc64(unsigned addr) { return (unsigned long long)((addr & 0x3FFFF) >> 4) | (1ull << 16) | (32ull << 32) | (2ull << 62); }
FUSION_DEVICE void fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
FUSION_DEVICE void commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int Pending>
FUSION_DEVICE void wait() { asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(Pending) : "memory"); }

// d (this warp's 16 of the warpgroup's 64 rows × 64 columns) (+)= A (64 × k16, descriptor a) · B (64 × k16, descriptor b)ᵀ.
FUSION_DEVICE void wgmma_m64n64k16(float* d, unsigned long long a, unsigned long long b, int accumulate)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1, 0, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]),
                   "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]),
                   "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
                   "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
                 : "l"(a), "l"(b), "r"(accumulate));
}

// d (16 of 64 rows × 96 columns) += A (this warp's 16 rows × k16 in registers, the mma.sync A layout) · B (96 × k16, descriptor b)ᵀ.
FUSION_DEVICE void wgmma_m64n96k16_a_in_registers(float* d, const unsigned* a, unsigned long long b)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %53, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n96k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, "
                 "%40, %41, %42, %43, %44, %45, %46, %47}, {%48, %49, %50, %51}, %52, p, 1, 1, 0;\n}\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]),
                   "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]),
                   "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
                   "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]),
                   "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]),
                   "+f"(d[46]), "+f"(d[47])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
}

// This warpgroup's 64 rows of x (rows past m zero-filled) into a buffer: 12 chunks of 16 bytes a row.
FUSION_DEVICE void load_rows(unsigned buffer, const half* x, int row0, int m, int t)
{
    for (int i = t; i < TileRows * 12; i += 128)
    {
        const int r = i / 12, c = i % 12, gr = row0 + r;
        cp_async16_or_zero(buffer + (c < 8 ? at128(r, c) : TileRows * 128 + at64(r, c - 8)), x + (long long)(gr < m ? gr : 0) * C + c * 8, gr < m);
    }
}

// fc1 of one hidden chunk for this warpgroup's 64 rows into h (issued, not waited for).
FUSION_DEVICE void fc1(float* h, unsigned xb, unsigned w1b)
{
    fence();
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) wgmma_m64n64k16(h, desc128(xb) + 2 * kk, desc128(w1b) + 2 * kk, kk > 0);
#pragma unroll
    for (int kk = 0; kk < 2; ++kk) wgmma_m64n64k16(h, desc64(xb + TileRows * 128) + 2 * kk, desc64(w1b + HC * 128) + 2 * kk, 1);
    commit();
}

// bias + GELU, rounded to fp16, packed as fc2's A fragments (k16 step kk: the n8 blocks 2kk and 2kk + 1), then fc2 on them (issued).
FUSION_DEVICE void gelu_fc2(float* o, const float* h, unsigned (&a)[4][4], const half* b1, unsigned w2b, int q)
{
#pragma unroll
    for (int i = 0; i < 8; ++i)
    {
        const half2 bias = *reinterpret_cast<const half2*>(b1 + i * 8 + 2 * q);
        const float bl = half2_lo(bias), bh = half2_hi(bias);
        a[i / 2][(i % 2) * 2] = floats_to_half2(fusion_gelu<Erf>(h[4 * i] + bl), fusion_gelu<Erf>(h[4 * i + 1] + bh)).bits;
        a[i / 2][(i % 2) * 2 + 1] = floats_to_half2(fusion_gelu<Erf>(h[4 * i + 2] + bl), fusion_gelu<Erf>(h[4 * i + 3] + bh)).bits;
    }
    fence();
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) wgmma_m64n96k16_a_in_registers(o, a[kk], desc128(w2b) + 2 * kk);
    commit();
}
#endif
}  // namespace mlp

extern "C" __global__ void __launch_bounds__(mlp::Threads, 1) fused_mlp_c96_h384(const half* __restrict__ x, const half* __restrict__ w1,
    const half* __restrict__ b1, const half* __restrict__ w2, const half* __restrict__ b2, const half* __restrict__ residual, half* __restrict__ out, int m)
{
    FUSION_AWAIT_PREVIOUS_GRID();  // first: the previous kernel's memory (prelude.cuh)
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using namespace mlp;
    extern __shared__ __align__(16) unsigned char mlp_smem[];
    const unsigned base = (smem_address(mlp_smem) + 1023) & ~1023u;
    const int tid = threadIdx.x, group = tid / 128, t = tid % 128, warp = t / 32, lane = tid % 32, g = lane / 4, q = lane % 4;
    const int tiles = (m + TileRows - 1) / TileRows, stride = gridDim.x * Groups;
    int tile = blockIdx.x * Groups + group;

    // The weights, once: W1 row j·64 + r (hidden unit) in chunk j; W2 row n (output channel), hidden units 64j… in chunk j.
    for (int i = tid; i < H * 12; i += Threads)
    {
        const int hr = i / 12, c = i % 12, j = hr / HC, r = hr % HC;
        cp_async16(base + W1At + j * W1ChunkBytes + (c < 8 ? at128(r, c) : HC * 128 + at64(r, c - 8)), w1 + hr * C + c * 8);
    }
    for (int i = tid; i < C * (H / 8); i += Threads)
    {
        const int n = i / (H / 8), c = i % (H / 8), j = c / 8;
        cp_async16(base + W2At + j * W2ChunkBytes + at128(n, c % 8), w2 + n * H + c * 8);
    }
    const unsigned buffers = base + XAt + group * 2 * XBufferBytes;
    if (tile < tiles) load_rows(buffers, x, tile * TileRows, m, t);
    cp_async_commit();
    cp_async_wait_all();
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");  // cp.async wrote through the generic proxy, wgmma reads through the async one
    __syncthreads();

    for (int it = 0; tile < tiles; tile += stride, ++it)
    {
        const unsigned xb = buffers + (it & 1) * XBufferBytes;
        if (tile + stride < tiles) load_rows(buffers + ((it + 1) & 1) * XBufferBytes, x, (tile + stride) * TileRows, m, t);
        cp_async_commit();

        float o[48];
#pragma unroll
        for (int i = 0; i < 48; ++i) o[i] = 0.0f;
        unsigned a[4][4];
        float h[2][32];
        fc1(h[0], xb, base + W1At);
#pragma unroll
        for (int j = 0; j < Chunks; ++j)
        {
            if (j + 1 < Chunks)
            {
                fc1(h[(j + 1) & 1], xb, base + W1At + (j + 1) * W1ChunkBytes);
                wait<1>();  // fc1 of chunk j and fc2 of chunk j − 1 (issued before it) are done
            }
            else wait<0>();
            gelu_fc2(o, h[j & 1], a, b1 + j * HC, base + W2At + j * W2ChunkBytes, q);
        }
        wait<0>();

        // The warp's rows r0 and r0 + 8: + b2 + the residual, stored as fp16 (column pairs 8i + 2q).
        const int r0 = tile * TileRows + warp * 16 + g;
#pragma unroll
        for (int i = 0; i < 12; ++i)
        {
            const int c = i * 8 + 2 * q;
            const half2 bias = *reinterpret_cast<const half2*>(b2 + c);
#pragma unroll
            for (int half_row = 0; half_row < 2; ++half_row)
            {
                const int row = r0 + half_row * 8;
                if (row >= m) continue;
                const half2 res = *reinterpret_cast<const half2*>(residual + (long long)row * C + c);
                *reinterpret_cast<half2*>(out + (long long)row * C + c) = floats_to_half2(o[4 * i + 2 * half_row] + half2_lo(bias) + half2_lo(res),
                    o[4 * i + 2 * half_row + 1] + half2_hi(bias) + half2_hi(res));
            }
        }
        cp_async_wait_all();
        asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
        asm volatile("bar.sync %0, 128;" ::"r"(group + 1) : "memory");  // the next tile's rows are in; the group is done with this buffer
    }
#else
    asm volatile("trap;");  // warpgroup MMA: compute capability 9.0 with sm_90a code only (FusedMlp launches it there alone)
#endif
}
