// Elementwise half2 kernels that exercise the prelude's packed arithmetic and conversions.
#include "prelude.cuh"

// out = relu(a * b + c) over n2 half2 pairs, fused multiply-add rounded once.
extern "C" __global__ void fusion_fma_relu_half2(const half2* __restrict__ a, const half2* __restrict__ b,
    const half2* __restrict__ c, half2* __restrict__ out, int n2)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n2; i += gridDim.x * blockDim.x)
        out[i] = hrelu2(hfma2(a[i], b[i], c[i]));
}

// out = alpha * a + b computed in float32 and rounded once to half, over n2 half2 pairs.
extern "C" __global__ void fusion_axpy_half2(const half2* __restrict__ a, const half2* __restrict__ b,
    half2* __restrict__ out, float alpha, int n2)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n2; i += gridDim.x * blockDim.x)
    {
        half2 x = a[i], y = b[i];
        out[i] = floats_to_half2(alpha * half2_lo(x) + half2_lo(y), alpha * half2_hi(x) + half2_hi(y));
    }
}
