// Fusion CUDA prelude: the half-precision types and intrinsics Fusion's kernels use.
// Header-free on purpose: NVRTC 13 ships no built-in cuda_fp16.h and a machine may have NVRTC
// without the toolkit headers, so everything here is plain C++ plus inline PTX (sm_80 and newer).
#pragma once

#define FUSION_DEVICE static __device__ __forceinline__

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

// 16-byte vector access; the address must be 16-byte aligned.
FUSION_DEVICE half8 load_half8(const half* p) { return *reinterpret_cast<const half8*>(p); }

FUSION_DEVICE void store_half8(half* p, half8 v) { *reinterpret_cast<half8*>(p) = v; }
