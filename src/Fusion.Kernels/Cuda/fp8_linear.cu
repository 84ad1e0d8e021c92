// Quantize an activation to FP8 E4M3 with its per-tensor scale (Fusion.Cuda.Fp8LinearKernels): code = e4m3(x · inverse),
// rounded to nearest even and saturated to ±448, as the CPU codec (Fusion.Quantization.Float8E4M3) does. The conversion
// instruction exists from sm_89 (Ada, Hopper): this file is compiled only for those GPUs.
#include "prelude.cuh"

FUSION_DEVICE unsigned char to_e4m3(float x, float inverse)
{
    float scaled;
    asm("mul.rn.f32 %0, %1, %2;" : "=f"(scaled) : "f"(x), "f"(inverse));
    unsigned short pair;
    // The pair's first source goes to the upper byte: (0, scaled) leaves the code in the lower one.
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(pair) : "f"(0.0f), "f"(scaled));
    return (unsigned char)(pair & 0xFF);
}

extern "C" __global__ void fusion_quantize_f16_e4m3(const half* __restrict__ x, unsigned char* __restrict__ q, long long n, float inverse)
{
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) q[i] = to_e4m3(half_to_float(x[i]), inverse);
}

extern "C" __global__ void fusion_quantize_f32_e4m3(const float* __restrict__ x, unsigned char* __restrict__ q, long long n, float inverse)
{
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) q[i] = to_e4m3(x[i], inverse);
}
