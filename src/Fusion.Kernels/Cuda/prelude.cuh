// Fusion CUDA prelude: the half-precision types and intrinsics Fusion's kernels use.
// Header-free on purpose: NVRTC 13 ships no built-in cuda_fp16.h and a machine may have NVRTC
// without the toolkit headers, so everything here is plain C++ plus inline PTX (sm_80 and newer).
#pragma once

#define FUSION_DEVICE static __device__ __forceinline__

// Programmatic dependent launch (sm_90 and newer). The runtime may launch a kernel that begins with this before the kernel ahead
// of it in the stream has finished (CudaKernel.Launch: only after one of Fusion's own kernels, and only a kernel whose source
// says this), so a kernel's launch and block start-up overlap the previous one's tail. griddepcontrol.wait then holds every
// thread until that grid has completed and its memory is visible: nothing before it may touch global memory. Afterwards the
// kernel lets the next one launch early in turn (launch_dependents: its blocks take free SM slots and wait here). Both are
// no-ops for an ordinary launch; below sm_90 the macro is empty.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define FUSION_AWAIT_PREVIOUS_GRID()                          \
    do {                                                      \
        asm volatile("griddepcontrol.wait;" ::: "memory");    \
        asm volatile("griddepcontrol.launch_dependents;");    \
    } while (0)
#else
#define FUSION_AWAIT_PREVIOUS_GRID() do { } while (0)
#endif

// Storage types: raw IEEE binary16 bits, one or two per register.
struct __align__(2) half { unsigned short bits; };
struct __align__(4) half2 { unsigned int bits; };
// Eight halves: the unit of a 16-byte (128-bit) global load or store.
struct __align__(16) half8 { unsigned int x, y, z, w; };

FUSION_DEVICE float half_to_float(half h)
{
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.bits));
    return f;
}

FUSION_DEVICE half float_to_half(float f)
{
    half h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h.bits) : "f"(f));
    return h;
}

// Packs (lo, hi) with round-to-nearest-even; cvt.f16x2 puts its first source in the upper half.
FUSION_DEVICE half2 floats_to_half2(float lo, float hi)
{
    half2 r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r.bits) : "f"(hi), "f"(lo));
    return r;
}

FUSION_DEVICE float half2_lo(half2 v)
{
    float f;
    asm("{ .reg .b16 lo, hi; mov.b32 {lo, hi}, %1; cvt.f32.f16 %0, lo; }" : "=f"(f) : "r"(v.bits));
    return f;
}

FUSION_DEVICE float half2_hi(half2 v)
{
    float f;
    asm("{ .reg .b16 lo, hi; mov.b32 {lo, hi}, %1; cvt.f32.f16 %0, hi; }" : "=f"(f) : "r"(v.bits));
    return f;
}

FUSION_DEVICE half2 make_half2_bits(unsigned int bits)
{
    half2 r;
    r.bits = bits;
    return r;
}

// Packed arithmetic, each result rounded once to nearest even.
FUSION_DEVICE half2 hadd2(half2 a, half2 b)
{
    half2 r;
    asm("add.rn.f16x2 %0, %1, %2;" : "=r"(r.bits) : "r"(a.bits), "r"(b.bits));
    return r;
}

FUSION_DEVICE half2 hmul2(half2 a, half2 b)
{
    half2 r;
    asm("mul.rn.f16x2 %0, %1, %2;" : "=r"(r.bits) : "r"(a.bits), "r"(b.bits));
    return r;
}

FUSION_DEVICE half2 hfma2(half2 a, half2 b, half2 c)
{
    half2 r;
    asm("fma.rn.f16x2 %0, %1, %2, %3;" : "=r"(r.bits) : "r"(a.bits), "r"(b.bits), "r"(c.bits));
    return r;
}

FUSION_DEVICE half2 hmax2(half2 a, half2 b)
{
    half2 r;
    asm("max.f16x2 %0, %1, %2;" : "=r"(r.bits) : "r"(a.bits), "r"(b.bits));
    return r;
}

FUSION_DEVICE half2 hrelu2(half2 a) { return hmax2(a, make_half2_bits(0u)); }

// Hardware approximations (about 2 ulp in float32): 2^x and 1/sqrt(x).
FUSION_DEVICE float fast_exp2(float x)
{
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}

FUSION_DEVICE float fast_rsqrt(float x)
{
    float r;
    asm("rsqrt.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}

// 1/x to about 1 ulp, one MUFU.RCP: for a divisor known to be ≥ 1 (no denormal, no overflow), where the IEEE 1.0f / x
// adds a range check and a call to a slow path (more registers in a kernel that does it per element).
FUSION_DEVICE float fast_rcp(float x)
{
    float r;
    asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}

// |a| (one abs.f32), and y's magnitude with x's sign (one LOP3 once ptxas merges the three bit operations): where a comparison and
// a select each took two or three instructions (erf, GELU).
FUSION_DEVICE float fusion_abs(float a) { float r; asm("abs.f32 %0, %1;" : "=f"(r) : "f"(a)); return r; }

FUSION_DEVICE float fusion_sign_of(float x, float y)
{
    float r;
    asm("{ .reg .b32 m, s; mov.b32 m, %2; mov.b32 s, %1; and.b32 m, m, 0x7FFFFFFF; and.b32 s, s, 0x80000000; or.b32 m, m, s; mov.b32 %0, m; }"
        : "=f"(r) : "f"(x), "f"(y));
    return r;
}

// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, far under an fp16 ulp; the approximate reciprocal of
// 1 + p·|x| ≥ 1 adds under 2e-7); written here because header-free builds (clang -nocudalib, NVRTC without headers) have no erff.
// 7.1.26's polynomial in t = 1 / (1 + p·|x|); erf(|x|) = 1 − poly·e^(−x²). fusion_gelu_erf evaluates it at a scaled argument.
FUSION_DEVICE float fusion_erf_poly(float t)
{
    return ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
}

FUSION_DEVICE float fusion_erf(float x)
{
    const float ax = fusion_abs(x);
    const float y = 1.0f - fusion_erf_poly(fast_rcp(1.0f + 0.3275911f * ax)) * fast_exp2(-ax * ax * 1.4426950408889634f);
    return fusion_sign_of(x, y);
}

// GELU by erf (the loop IR's Gelu operation, erf as above) and in the tanh form (what cuBLASLt's GELU epilogue computes, tanh by
// the hardware's approximation): the fused MLP kernels apply whichever the up projection's epilogue names.
// The erf form is fusion_erf(v·√½) with √½ folded into its constants (p·√½ = 0.23164189, e^(−v²/2) = 2^(−v²·log2(e)/2)): the int8
// plan's requantizing GELU GEMMs are bound by instructions issued (this form and fusion_abs / fusion_sign_of took the int8 plan's
// stage 1 fc1 from 1915 to 1627 PTX instructions a thread, clang-19; docs/perf.md).
FUSION_DEVICE float fusion_gelu_erf(float v)
{
    const float av = fusion_abs(v);
    const float e = 1.0f - fusion_erf_poly(fast_rcp(1.0f + 0.23164189f * av)) * fast_exp2(av * av * -0.72134752f);
    // ½v·(1 + erf) as the chain computed it: for v ≪ 0, 1 + erf is +0 and the product −0, as PyTorch's GELU (the multiply-add
    // h·erf + h would give +0, another fp16 or FP8 code).
    return (0.5f * v) * (1.0f + fusion_sign_of(v, e));
}

FUSION_DEVICE float fusion_gelu_tanh(float v)
{
    // √(2/π)·(v + 0.044715·v³) as v·(√(2/π) + 0.044715·√(2/π)·v²): two multiplies and a multiply-add where the literal order took
    // three multiplies, a multiply-add and a multiply.
    const float u = v * (0.035677408136300125f * (v * v) + 0.79788456080286536f);
    float t;
    asm("tanh.approx.f32 %0, %1;" : "=f"(t) : "f"(u));
    return 0.5f * v * (1.0f + t);
}

// The loop IR's gelu_tanh operation (GELU's tanh form, what cuBLASLt's GELU epilogue computes and the int8 plans take): ½v·(1 + tanh u)
// as v·σ(2u) = v / (1 + e^(−2u)), one ex2 and one reciprocal, accurate to float32 (within a few ulp of the CPU's same steps), where
// tanh.approx (fusion_gelu_tanh) is off by up to 2^-11 relative and a general tanh branches. v ≪ 0 gives −0 (the reciprocal of +inf).
FUSION_DEVICE float fusion_gelu_tanh_sigmoid(float v)
{
    // −2u·log2(e) = v·(a·v² + b): the exponent's scale folded into the two constants, one multiply fewer.
    const float t = v * (-0.1029432395800235f * (v * v) - 2.302208198144325f);
    return v * fast_rcp(1.0f + fast_exp2(t));
}

// The loop IR's gelu operation as printed: by erf, or in the tanh form where the kernel is compiled with FUSION_GELU_TANH=1 (the
// GEMM template under FUSION_GEMM_GELU=tanh: cuBLASLt's form, the one its GELU epilogue computes; EpilogueGelu.cs).
#ifndef FUSION_GELU_TANH
#define FUSION_GELU_TANH 0
#endif
FUSION_DEVICE float fusion_gelu_op(float v) { return FUSION_GELU_TANH ? fusion_gelu_tanh(v) : fusion_gelu_erf(v); }

// The one of the two a kernel was compiled for (its FUSION_MLP_ERF, say).
template <bool Erf>
FUSION_DEVICE float fusion_gelu(float v) { return Erf ? fusion_gelu_erf(v) : fusion_gelu_tanh(v); }

// Warp and block collectives as inline PTX (all 32 lanes must take part).
FUSION_DEVICE float warp_shfl_xor(float v, int laneMask)
{
    float r;
    asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=f"(r) : "f"(v), "r"(laneMask));
    return r;
}

FUSION_DEVICE float warp_shfl(float v, int srcLane)
{
    float r;
    asm volatile("shfl.sync.idx.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=f"(r) : "f"(v), "r"(srcLane));
    return r;
}

// Sum and maximum over the warp, the result in every lane.
FUSION_DEVICE float warp_sum(float v)
{
#pragma unroll
    for (int m = 16; m > 0; m >>= 1) v += warp_shfl_xor(v, m);
    return v;
}

FUSION_DEVICE float warp_max(float v)
{
#pragma unroll
    for (int m = 16; m > 0; m >>= 1)
    {
        const float o = warp_shfl_xor(v, m);
        v = o > v ? o : v;
    }
    return v;
}

FUSION_DEVICE void block_barrier() { asm volatile("bar.sync 0;" ::: "memory"); }
// The warp's lanes meet, and what each wrote to shared memory before is seen by all after (__syncwarp, header-free).
FUSION_DEVICE void warp_barrier() { asm volatile("bar.warp.sync 0xffffffff;" ::: "memory"); }

// Tensor cores (sm_80 and newer), shared by the GEMM and attention templates.
// A generic pointer into shared memory as the 32-bit shared-space address ldmatrix and cp.async take.
FUSION_DEVICE unsigned smem_address(const void* p)
{
    unsigned a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

// Four 8×8 b16 matrices from shared memory; lanes 8i…8i+7 give the row addresses of matrix i.
FUSION_DEVICE void ldmatrix_x4(unsigned address, unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(address));
}

// The same, each matrix transposed on the way (a [k][n] row-major tile becomes "col" B fragments).
FUSION_DEVICE void ldmatrix_x4_trans(unsigned address, unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(address));
}

// c += a (16×16, row) · b (16×8, col: registers b0, b1), fp16 in, fp32 accumulate.
FUSION_DEVICE void mma_m16n8k16(float* c, const unsigned* a, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// c += a (16×32, row) · b (32×8, col: registers b0, b1), int8 in (four per register, the lowest k in the low byte), int32
// accumulate: every sum exact while it fits (k ≤ 131071 products of int8). The fragments' byte layout is m16n8k16's, so the
// same ldmatrix loads feed both.
FUSION_DEVICE void mma_m16n8k32_s8(int* c, const unsigned* a, unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// 16-byte global → shared copy that does not pass through registers (cp.async, sm_80 and newer); both addresses 16-byte aligned.
// The copies a thread issued since its last commit form a group; cp_async_wait_all waits for all of its groups.
FUSION_DEVICE void cp_async16(unsigned dst, const void* src)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(dst), "l"(src) : "memory");
}

// The same, or 16 zero bytes where ok is false (src is not read then, but must be a valid address: rows past a matrix's end).
FUSION_DEVICE void cp_async16_or_zero(unsigned dst, const void* src, bool ok)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(src), "r"(ok ? 16 : 0) : "memory");
}

FUSION_DEVICE void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }

FUSION_DEVICE void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;" ::: "memory"); }

// Waits until at most Pending of this thread's most recent copy groups are still in flight (the older ones have landed).
template <int Pending>
FUSION_DEVICE void cp_async_wait() { asm volatile("cp.async.wait_group %0;" ::"n"(Pending) : "memory"); }

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
// Thread-block clusters (sm_90 and newer): this block's rank in its cluster, a barrier of all the cluster's threads (release /
// acquire: shared-memory writes before it are seen by the peers' reads after it), a shared-memory address mapped into block q's
// shared memory, and reads there (distributed shared memory).
FUSION_DEVICE unsigned cluster_rank()
{
    unsigned r;
    asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r));
    return r;
}
FUSION_DEVICE void cluster_sync() { asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;" ::: "memory"); }
// The barrier's two halves apart, for work between them: arrive (release: this thread's shared-memory accesses before it are done
// for the peers) and wait (acquire: until every thread of the cluster has arrived); each thread alternates them.
FUSION_DEVICE void cluster_arrive() { asm volatile("barrier.cluster.arrive.release.aligned;" ::: "memory"); }
FUSION_DEVICE void cluster_wait() { asm volatile("barrier.cluster.wait.acquire.aligned;" ::: "memory"); }
FUSION_DEVICE unsigned cluster_map(unsigned addr, unsigned q)
{
    unsigned r;
    asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(r) : "r"(addr), "r"(q));
    return r;
}
FUSION_DEVICE void cluster_load2(unsigned addr, float& a, float& b) { asm volatile("ld.shared::cluster.v2.f32 {%0, %1}, [%2];" : "=f"(a), "=f"(b) : "r"(addr) : "memory"); }
FUSION_DEVICE void cluster_load2(unsigned addr, int& a, int& b) { asm volatile("ld.shared::cluster.v2.s32 {%0, %1}, [%2];" : "=r"(a), "=r"(b) : "r"(addr) : "memory"); }
FUSION_DEVICE void cluster_load4(unsigned addr, float& a, float& b, float& c, float& d)
{
    asm volatile("ld.shared::cluster.v4.f32 {%0, %1, %2, %3}, [%4];" : "=f"(a), "=f"(b), "=f"(c), "=f"(d) : "r"(addr) : "memory");
}
// 16 bytes of block q's shared memory as they are (a copy: no conversion).
FUSION_DEVICE half8 cluster_load_half8(unsigned addr)
{
    half8 v;
    asm volatile("ld.shared::cluster.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "r"(addr) : "memory");
    return v;
}
#endif

// int32 → float rounded to nearest even (__int2float_rn): exact below 2^24 in magnitude.
FUSION_DEVICE float int_to_float_rn(int v)
{
    float f;
    asm("cvt.rn.f32.s32 %0, %1;" : "=f"(f) : "r"(v));
    return f;
}

// 16-byte vector access; the address must be 16-byte aligned.
FUSION_DEVICE half8 load_half8(const half* p) { return *reinterpret_cast<const half8*>(p); }

FUSION_DEVICE void store_half8(half* p, half8 v) { *reinterpret_cast<half8*>(p) = v; }

// A half8 as eight floats (element order) and back, rounding each once.
FUSION_DEVICE void half8_to_floats(half8 v, float* f)
{
    const unsigned int w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; i++)
    {
        f[2 * i] = half2_lo(make_half2_bits(w[i]));
        f[2 * i + 1] = half2_hi(make_half2_bits(w[i]));
    }
}

FUSION_DEVICE half8 floats_to_half8(const float* f)
{
    half8 v;
    v.x = floats_to_half2(f[0], f[1]).bits;
    v.y = floats_to_half2(f[2], f[3]).bits;
    v.z = floats_to_half2(f[4], f[5]).bits;
    v.w = floats_to_half2(f[6], f[7]).bits;
    return v;
}
