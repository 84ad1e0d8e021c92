// Fusion: what the kernels generated from the loop IR use, on top of the prelude. Loads convert each buffer's type
// (half, float, int8 or FP8 E4M3 codes) to float32 and stores round once; vectors move V consecutive elements (V = 2, 4 or 8) whose first
// address is aligned to V elements. Math is float32, accurate to a few ulp (the tests state the tolerances).
#pragma once
#include "prelude.cuh"
// Index arithmetic: 32-bit (cheap division by constants, fewer registers) unless a launch reaches 2^30 elements, for which
// the launcher compiles the kernel again with FUSION_INDEX64.
#ifdef FUSION_INDEX64
typedef long long fusion_index;
#else
typedef int fusion_index;
#endif

struct __align__(8) fusion_f2 { float x, y; };
struct __align__(16) fusion_f4 { float x, y, z, w; };
struct __align__(8) fusion_u2 { unsigned int x, y; };

// An int8 code: rounded half to even, saturated to ±127 (−128 never appears, so negation stays exact); NaN gives 0. One conversion
// to int32 (cvt.rni.s32.f32 saturates to the int32 range and turns NaN into 0) and an integer clamp: the float form (round, then
// compare and select for each bound and for NaN) cost 7 instructions an element in the int8 plan's epilogues.
FUSION_DEVICE int fusion_code_i8(float x)
{
    int r;
    asm("cvt.rni.s32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r < -127 ? -127 : r > 127 ? 127 : r;
}

FUSION_DEVICE float fusion_round_i8(float x) { return (float)fusion_code_i8(x); }

FUSION_DEVICE float fusion_load(const float* p) { return *p; }
FUSION_DEVICE float fusion_load(const half* p) { return half_to_float(*p); }
FUSION_DEVICE void fusion_store(float* p, float v) { *p = v; }
FUSION_DEVICE void fusion_store(half* p, float v) { *p = float_to_half(v); }
FUSION_DEVICE float fusion_load(const signed char* p) { return (float)*p; }
FUSION_DEVICE void fusion_store(signed char* p, float v) { *p = (signed char)fusion_code_i8(v); }

template <int V> FUSION_DEVICE void fusion_load_vec(const float* p, float* v)
{
    if constexpr (V == 2)
    {
        const fusion_f2 a = *reinterpret_cast<const fusion_f2*>(p);
        v[0] = a.x; v[1] = a.y;
    }
    else
    {
#pragma unroll
        for (int i = 0; i < V; i += 4)
        {
            const fusion_f4 a = *reinterpret_cast<const fusion_f4*>(p + i);
            v[i] = a.x; v[i + 1] = a.y; v[i + 2] = a.z; v[i + 3] = a.w;
        }
    }
}

template <int V> FUSION_DEVICE void fusion_load_vec(const half* p, float* v)
{
    if constexpr (V == 8)
    {
        half8_to_floats(load_half8(p), v);
    }
    else if constexpr (V == 4)
    {
        const fusion_u2 a = *reinterpret_cast<const fusion_u2*>(p);
        v[0] = half2_lo(make_half2_bits(a.x)); v[1] = half2_hi(make_half2_bits(a.x));
        v[2] = half2_lo(make_half2_bits(a.y)); v[3] = half2_hi(make_half2_bits(a.y));
    }
    else
    {
        const half2 a = *reinterpret_cast<const half2*>(p);
        v[0] = half2_lo(a); v[1] = half2_hi(a);
    }
}

template <int V> FUSION_DEVICE void fusion_store_vec(float* p, const float* v)
{
    if constexpr (V == 2)
    {
        fusion_f2 a; a.x = v[0]; a.y = v[1];
        *reinterpret_cast<fusion_f2*>(p) = a;
    }
    else
    {
#pragma unroll
        for (int i = 0; i < V; i += 4)
        {
            fusion_f4 a; a.x = v[i]; a.y = v[i + 1]; a.z = v[i + 2]; a.w = v[i + 3];
            *reinterpret_cast<fusion_f4*>(p + i) = a;
        }
    }
}

template <int V> FUSION_DEVICE void fusion_store_vec(half* p, const float* v)
{
    if constexpr (V == 8)
    {
        store_half8(p, floats_to_half8(v));
    }
    else if constexpr (V == 4)
    {
        fusion_u2 a; a.x = floats_to_half2(v[0], v[1]).bits; a.y = floats_to_half2(v[2], v[3]).bits;
        *reinterpret_cast<fusion_u2*>(p) = a;
    }
    else
    {
        *reinterpret_cast<half2*>(p) = floats_to_half2(v[0], v[1]);
    }
}

// The loop IR's accumulating store: adds into a float32 buffer the launcher cleared (a global pool summed in a GEMM's epilogue);
// the adds of different threads land in any order. Reductions in memory (red), not atomics that return the old value. Hopper adds
// two or four consecutive floats in one instruction. No "memory" clobber: nothing in the kernel reads the pooled buffer, and a
// clobber would keep the compiler from issuing the next rows' loads (the residual's) before an add.
FUSION_DEVICE void fusion_accumulate(float* p, float v)
{
    asm volatile("red.add.f32 [%0], %1;" :: "l"(p), "f"(v));
}

template <int V> FUSION_DEVICE void fusion_accumulate_vec(float* p, const float* v)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if constexpr (V == 2)
    {
        asm volatile("{ .reg .u64 g; cvta.to.global.u64 g, %0; red.global.add.v2.f32 [g], {%1, %2}; }" :: "l"(p), "f"(v[0]), "f"(v[1]));
        return;
    }
    else
    {
#pragma unroll
        for (int i = 0; i < V; i += 4)
            asm volatile("{ .reg .u64 g; cvta.to.global.u64 g, %0; red.global.add.v4.f32 [g], {%1, %2, %3, %4}; }"
                :: "l"(p + i), "f"(v[i]), "f"(v[i + 1]), "f"(v[i + 2]), "f"(v[i + 3]));
        return;
    }
#else
#pragma unroll
    for (int i = 0; i < V; i++) fusion_accumulate(p + i, v[i]);
#endif
}

// int8 codes: V (2, 4 or 8) bytes moved at once.
template <int V> FUSION_DEVICE void fusion_load_vec(const signed char* p, float* v)
{
    if constexpr (V == 8)
    {
        const fusion_u2 a = *reinterpret_cast<const fusion_u2*>(p);
#pragma unroll
        for (int i = 0; i < 4; ++i) { v[i] = (float)(signed char)(a.x >> (8 * i)); v[4 + i] = (float)(signed char)(a.y >> (8 * i)); }
    }
    else if constexpr (V == 4)
    {
        const unsigned a = *reinterpret_cast<const unsigned*>(p);
#pragma unroll
        for (int i = 0; i < 4; ++i) v[i] = (float)(signed char)(a >> (8 * i));
    }
    else
    {
        const unsigned short a = *reinterpret_cast<const unsigned short*>(p);
        v[0] = (float)(signed char)a; v[1] = (float)(signed char)(a >> 8);
    }
}

// Two or four codes packed into a word, code i in byte i. From compute capability 8.6 the hardware packs two int32 into bytes with
// saturation to [−128, 127] in one instruction (cvt.pack.sat.s8.s32.b32 d, a, b, c: d = c << 16 | sat(a) << 8 | sat(b)), so
// only the lower bound −127 is left to each code: one compare where the clamp and the byte mask, shift and or took five.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 860
FUSION_DEVICE int fusion_code_i8_above_min(float x)
{
    int r;
    asm("cvt.rni.s32.f32 %0, %1;" : "=r"(r) : "f"(x));  // NaN gives 0
    return r < -127 ? -127 : r;
}

FUSION_DEVICE unsigned fusion_pack_i8x2(const float* v, unsigned high)
{
    unsigned r;
    asm("cvt.pack.sat.s8.s32.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(fusion_code_i8_above_min(v[1])), "r"(fusion_code_i8_above_min(v[0])), "r"(high));
    return r;
}
#else
FUSION_DEVICE unsigned fusion_pack_i8x2(const float* v, unsigned high)
{
    return ((unsigned)fusion_code_i8(v[0]) & 0xFFu) | (((unsigned)fusion_code_i8(v[1]) & 0xFFu) << 8) | (high << 16);
}
#endif

FUSION_DEVICE unsigned fusion_pack_i8x4(const float* v) { return fusion_pack_i8x2(v, fusion_pack_i8x2(v + 2, 0u)); }

template <int V> FUSION_DEVICE void fusion_store_vec(signed char* p, const float* v)
{
    if constexpr (V == 8)
    {
        fusion_u2 a; a.x = fusion_pack_i8x4(v); a.y = fusion_pack_i8x4(v + 4);
        *reinterpret_cast<fusion_u2*>(p) = a;
    }
    else if constexpr (V == 4)
    {
        *reinterpret_cast<unsigned*>(p) = fusion_pack_i8x4(v);
    }
    else
    {
        *reinterpret_cast<unsigned short*>(p) = (unsigned short)fusion_pack_i8x2(v, 0u);
    }
}

// FP8 E4M3 codes (the Fp8 plan's GEMM operands; sm_89 and newer, where the Fp8 plan runs): a store rounds to nearest even and
// saturates to ±448 (cvt.rn.satfinite; NaN stays NaN), a load decodes exactly (every E4M3 value is an f16 value). A distinct
// byte type, so the overloads tell FP8 codes from int8 ones.
struct fusion_e4m3 { unsigned char bits; };

// Two codes in one 16-bit word: lo in the low byte.
FUSION_DEVICE unsigned short fusion_pack_e4m3x2(float lo, float hi)
{
    unsigned short r;
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(r) : "f"(hi), "f"(lo));
    return r;
}

FUSION_DEVICE void fusion_unpack_e4m3x2(unsigned short pair, float* v)
{
    unsigned h;
    asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(h) : "h"(pair));
    const half2 p = make_half2_bits(h);
    v[0] = half2_lo(p); v[1] = half2_hi(p);
}

FUSION_DEVICE float fusion_round_e4m3(float x)
{
    float v[2];
    fusion_unpack_e4m3x2(fusion_pack_e4m3x2(x, 0.0f), v);
    return v[0];
}

FUSION_DEVICE float fusion_load(const fusion_e4m3* p)
{
    float v[2];
    fusion_unpack_e4m3x2((unsigned short)p->bits, v);
    return v[0];
}

FUSION_DEVICE void fusion_store(fusion_e4m3* p, float v) { p->bits = (unsigned char)fusion_pack_e4m3x2(v, 0.0f); }

template <int V> FUSION_DEVICE void fusion_load_vec(const fusion_e4m3* p, float* v)
{
    if constexpr (V == 8)
    {
        const fusion_u2 a = *reinterpret_cast<const fusion_u2*>(p);
        fusion_unpack_e4m3x2((unsigned short)a.x, v); fusion_unpack_e4m3x2((unsigned short)(a.x >> 16), v + 2);
        fusion_unpack_e4m3x2((unsigned short)a.y, v + 4); fusion_unpack_e4m3x2((unsigned short)(a.y >> 16), v + 6);
    }
    else if constexpr (V == 4)
    {
        const unsigned a = *reinterpret_cast<const unsigned*>(p);
        fusion_unpack_e4m3x2((unsigned short)a, v); fusion_unpack_e4m3x2((unsigned short)(a >> 16), v + 2);
    }
    else
    {
        fusion_unpack_e4m3x2(*reinterpret_cast<const unsigned short*>(p), v);
    }
}

FUSION_DEVICE unsigned fusion_pack_e4m3x4(const float* v)
{
    return (unsigned)fusion_pack_e4m3x2(v[0], v[1]) | ((unsigned)fusion_pack_e4m3x2(v[2], v[3]) << 16);
}

template <int V> FUSION_DEVICE void fusion_store_vec(fusion_e4m3* p, const float* v)
{
    if constexpr (V == 8)
    {
        fusion_u2 a; a.x = fusion_pack_e4m3x4(v); a.y = fusion_pack_e4m3x4(v + 4);
        *reinterpret_cast<fusion_u2*>(p) = a;
    }
    else if constexpr (V == 4)
    {
        *reinterpret_cast<unsigned*>(p) = fusion_pack_e4m3x4(v);
    }
    else
    {
        *reinterpret_cast<unsigned short*>(p) = fusion_pack_e4m3x2(v[0], v[1]);
    }
}

FUSION_DEVICE float fusion_neg_inf() { float r; asm("mov.b32 %0, 0xFF800000;" : "=f"(r)); return r; }
FUSION_DEVICE float fusion_pos_inf() { float r; asm("mov.b32 %0, 0x7F800000;" : "=f"(r)); return r; }
FUSION_DEVICE float fusion_max(float a, float b) { float r; asm("max.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b)); return r; }
FUSION_DEVICE float fusion_min(float a, float b) { float r; asm("min.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b)); return r; }
FUSION_DEVICE float fusion_floor(float a) { float r; asm("cvt.rmi.f32.f32 %0, %1;" : "=f"(r) : "f"(a)); return r; }
FUSION_DEVICE float fusion_exp(float x) { return fast_exp2(x * 1.4426950408889634f); }

FUSION_DEVICE float fusion_log2(float x) { float r; asm("lg2.approx.f32 %0, %1;" : "=f"(r) : "f"(x)); return r; }
FUSION_DEVICE float fusion_log(float x) { return fusion_log2(x) * 0.6931471805599453f; }

FUSION_DEVICE float fusion_sqrt(float x) { float r; asm("sqrt.rn.f32 %0, %1;" : "=f"(r) : "f"(x)); return r; }
FUSION_DEVICE float fusion_rsqrt(float x) { float r; asm("rsqrt.approx.f32 %0, %1;" : "=f"(r) : "f"(x)); return r; }
FUSION_DEVICE float fusion_recip(float x) { float r; asm("rcp.rn.f32 %0, %1;" : "=f"(r) : "f"(x)); return r; }
FUSION_DEVICE float fusion_div(float a, float b) { float r; asm("div.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b)); return r; }

// tanh: its Taylor series near 0 (absolute error below 3e-8 for |x| < 0.55), else 1 − 2/(e^{2|x|} + 1) with the sign.
FUSION_DEVICE float fusion_tanh(float x)
{
    const float a = fusion_abs(x);
    if (a < 0.55f)
    {
        const float s = x * x;
        return x * (1.0f + s * (-0.33333333333f + s * (0.13333333333f + s * (-0.053968253968f + s * (0.021869488536f
            + s * (-0.0088632355299f + s * (0.0035921280366f + s * -0.0014558343870f)))))));
    }
    const float r = 1.0f - fusion_div(2.0f, fusion_exp(2.0f * a) + 1.0f);
    return x < 0.0f ? -r : r;
}

// x^y: exact powers of a negative base for integer y; NaN for a negative base and another y (like powf).
FUSION_DEVICE float fusion_pow(float x, float y)
{
    const float r = fast_exp2(y * fusion_log2(fusion_abs(x)));
    if (x >= 0.0f) return r;
    if (fusion_floor(y) != y) return fusion_div(0.0f, 0.0f);
    const float half_y = y * 0.5f;
    return fusion_floor(half_y) == half_y ? r : -r;
}

FUSION_DEVICE float fusion_select(float condition, float a, float b) { return condition != 0.0f ? a : b; }

// A row kernel's loads held as loaded (V elements of T, unconverted) until every load of the thread has been issued, then unpacked
// to float32 row by row: converting each vector as it arrived made the compiler wait on one load before issuing the next, and
// Swin-T's stage-1 LayerNorm + partition (rows of 96 halves, two a lane group) ran at 2.69 TB/s against 3.23 held raw (H200,
// bench/cuda/rowln_probe.cu; the gather alone 3.60). Zero bits where ok is false (0.0 in every element type). Defined last, so
// that fusion_unpack sees every fusion_load_vec.
struct __align__(16) fusion_u4 { unsigned int x, y, z, w; };
template <typename T, int V> struct alignas(V * sizeof(T) >= 16 ? 16 : V * sizeof(T)) fusion_raw { T e[V]; };

template <int V, typename T> FUSION_DEVICE fusion_raw<T, V> fusion_load_raw(const T* p, bool ok)
{
    constexpr int bytes = V * (int)sizeof(T);
    fusion_raw<T, V> r;
    if constexpr (bytes >= 16)
    {
#pragma unroll
        for (int i = 0; i < bytes / 16; i++)
            reinterpret_cast<fusion_u4*>(&r)[i] = ok ? reinterpret_cast<const fusion_u4*>(p)[i] : fusion_u4{0u, 0u, 0u, 0u};
    }
    else if constexpr (bytes == 8) *reinterpret_cast<fusion_u2*>(&r) = ok ? *reinterpret_cast<const fusion_u2*>(p) : fusion_u2{0u, 0u};
    else if constexpr (bytes == 4) *reinterpret_cast<unsigned int*>(&r) = ok ? *reinterpret_cast<const unsigned int*>(p) : 0u;
    else
    {
        static_assert(bytes == 2, "fusion_load_raw: 2 to 16·k bytes");
        *reinterpret_cast<unsigned short*>(&r) = ok ? *reinterpret_cast<const unsigned short*>(p) : (unsigned short)0;
    }
    return r;
}

template <typename T, int V> FUSION_DEVICE void fusion_unpack(const fusion_raw<T, V>& r, float* v) { fusion_load_vec<V>(r.e, v); }
