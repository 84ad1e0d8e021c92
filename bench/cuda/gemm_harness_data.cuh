// What the GEMM variant harnesses (gemm_epilogue_variants.cu, gemm_tile_variants.cu) share: seeded random operands on the device
// (fp16 in [-1, 1), int8 codes in [-127, 127], float scales in [1e-3, 2e-3)), zeroing a weight's padding columns, and counting the
// halves where two outputs differ; GemmOperands holds one GEMM's buffers; kernelName reads a source's kernel name.
#pragma once
#include <cuda_fp16.h>

#include "nvrtc_harness.cuh"

__device__ unsigned hash(unsigned long long i, unsigned seed)
{
    unsigned long long x = i * 0x9E3779B97F4A7C15ull + seed * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31; x *= 0x94D049BB133111EBull; x ^= x >> 29;
    return (unsigned)x;
}
// kind 0: half in [-1, 1); 1: int8 in [-127, 127]; 2: float in [1e-3, 2e-3)
__global__ void fill(void* p, long long n, int kind, unsigned seed)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    {
        unsigned h = hash(i, seed);
        if (kind == 0) ((__half*)p)[i] = __float2half((h >> 8) * (2.0f / 16777216.0f) - 1.0f);
        else if (kind == 1) ((signed char*)p)[i] = (signed char)((int)(h % 255u) - 127);
        else ((float*)p)[i] = 1e-3f * (1.0f + (h >> 8) / 16777216.0f);
    }
}
__global__ void zero_pad(void* w, int n, int k, int kw, int bytes)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n * kw; i += gridDim.x * blockDim.x)
        if (i % kw >= k) { if (bytes == 2) ((unsigned short*)w)[i] = 0; else ((signed char*)w)[i] = 0; }
}
__global__ void diff(const unsigned short* a, const unsigned short* b, long long n, unsigned long long* count)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        if (a[i] != b[i]) atomicAdd(count, 1ull);
}

/// The kernel name a source file defines (its "#define FUSION_KERNEL" line).
static std::string kernelName(const std::string& file)
{
    std::string s = read(file);
    auto i = s.find("#define FUSION_KERNEL ");
    auto j = s.find('\n', i);
    return s.substr(i + 22, j - i - 22);
}

/// One GEMM's operands on the device, filled with seeded random values: x [m, K], w [N, KW] (KW = K rounded up to 16 bytes, the
/// padding zeroed), a per-column scale and bias, a residual [m, N]; and two outputs, the reference's and a variant's, each with
/// kGuard spare halves past the end so that a store out of bounds shows as a mismatch.
struct GemmOperands
{
    static constexpr long long kGuard = 4096;
    int kw;
    long long outN;
    void *x, *w, *scale, *bias, *res, *ref, *out;

    GemmOperands(int m, int n, int k, bool s8) : kw(s8 ? (k + 15) / 16 * 16 : (k + 7) / 8 * 8), outN((long long)m * n)
    {
        const int esz = s8 ? 1 : 2;
        CK(cudaMalloc(&x, (size_t)m * k * esz)); CK(cudaMalloc(&w, (size_t)n * kw * esz));
        CK(cudaMalloc(&scale, n * 4)); CK(cudaMalloc(&bias, n * 2)); CK(cudaMalloc(&res, outN * 2));
        CK(cudaMalloc(&ref, (outN + kGuard) * 2)); CK(cudaMalloc(&out, (outN + kGuard) * 2));
        fill<<<1024, 256>>>(x, (long long)m * k, s8 ? 1 : 0, 1);
        fill<<<1024, 256>>>(w, (long long)n * kw, s8 ? 1 : 0, 2);
        zero_pad<<<256, 256>>>(w, n, k, kw, esz);
        fill<<<64, 256>>>(scale, n, 2, 3);
        fill<<<64, 256>>>(bias, n, 0, 4);
        fill<<<1024, 256>>>(res, outN, 0, 5);
        CK(cudaDeviceSynchronize());
    }

    GemmOperands(const GemmOperands&) = delete;
    GemmOperands& operator=(const GemmOperands&) = delete;
    ~GemmOperands() { cudaFree(x); cudaFree(w); cudaFree(scale); cudaFree(bias); cudaFree(res); cudaFree(ref); cudaFree(out); }

    /// Halves where out differs from ref, the spare ones included; count is a device counter.
    unsigned long long mismatches(unsigned long long* count) const
    {
        unsigned long long n = 0;
        CK(cudaMemset(count, 0, 8));
        diff<<<1024, 256>>>((const unsigned short*)ref, (const unsigned short*)out, outN + kGuard, count);
        CK(cudaMemcpy(&n, count, 8, cudaMemcpyDeviceToHost));
        return n;
    }
};
