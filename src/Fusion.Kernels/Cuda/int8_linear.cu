// The two element passes around an int8 product (Fusion.Cuda.Int8LinearKernels): quantize an activation to int8 with its
// calibrated scale, and dequantize the product's int32 sums per output channel with the bias added. They compute exactly what
// the CPU reference (Fusion.Quantization.Int8Quantizer, Int8Linear) computes, rounding for rounding: every multiply and add is
// an explicit .rn instruction, so the compiler cannot contract them into an FMA the CPU does not do.
#include "prelude.cuh"

FUSION_DEVICE float mul_rn(float a, float b)
{
    float r;
    asm("mul.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
    return r;
}

FUSION_DEVICE float add_rn(float a, float b)
{
    float r;
    asm("add.rn.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
    return r;
}

// clamp(round-half-even(x · inverse), −127, 127): cvt.rni rounds to nearest even; −128 never appears.
FUSION_DEVICE signed char quantize_s8(float x, float inverse)
{
    float q;
    asm("cvt.rni.f32.f32 %0, %1;" : "=f"(q) : "f"(mul_rn(x, inverse)));
    q = q < -127.0f ? -127.0f : (q > 127.0f ? 127.0f : q);
    return (signed char)(int)q;
}

// The int32 sum as float32, rounded to nearest even as C#'s (float)int is.
FUSION_DEVICE float s32_to_float(int v)
{
    float f;
    asm("cvt.rn.f32.s32 %0, %1;" : "=f"(f) : "r"(v));
    return f;
}

extern "C" __global__ void fusion_quantize_f16_s8(const half* __restrict__ x, signed char* __restrict__ q, long long n, float inverse)
{
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) q[i] = quantize_s8(half_to_float(x[i]), inverse);
}

extern "C" __global__ void fusion_quantize_f32_s8(const float* __restrict__ x, signed char* __restrict__ q, long long n, float inverse)
{
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) q[i] = quantize_s8(x[i], inverse);
}

// y[i, j] = acc[i, j] · scale[j] + bias[j] (scale[j] = sₓ·s_w[j], computed once in float32 as the CPU does; no bias: + 0).
FUSION_DEVICE float dequantize(const int* acc, const float* scale, const float* bias, long long i, int n)
{
    const int j = (int)(i % n);
    return add_rn(mul_rn(s32_to_float(acc[i]), scale[j]), bias ? bias[j] : 0.0f);
}

extern "C" __global__ void fusion_dequantize_s32_f32(const int* __restrict__ acc, const float* __restrict__ scale, const float* __restrict__ bias,
    float* __restrict__ y, long long count, int n)
{
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) y[i] = dequantize(acc, scale, bias, i, n);
}

extern "C" __global__ void fusion_dequantize_s32_f16(const int* __restrict__ acc, const float* __restrict__ scale, const float* __restrict__ bias,
    half* __restrict__ y, long long count, int n)
{
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) y[i] = float_to_half(dequantize(acc, scale, bias, i, n));
}
