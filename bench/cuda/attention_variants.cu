// Standalone nvcc harness for the flash-attention template (src/Fusion.Kernels/Cuda/Templates/attention.cut): builds one variant
// (FUSION_* constants, and whatever switches an experimental copy of the template takes, given with -D), times it on q, k, v [B, H, T, HEAD_DIM] fp16 the way
// Fusion.Bench does (CUDA events around each call, 10 warm-ups, median of 100) and checks it against a float32 reference kernel.
// For trying kernel variants on the GPU machine, which has nvcc but no .NET: bench/cuda/attention_variants.sh builds and runs them.
//   nvcc -O3 -arch=sm_90 -I src/Fusion.Kernels/Cuda -DFUSION_HEAD_DIM=64 -DFUSION_CAUSAL=0 -DFUSION_HAS_BIAS=0 \
//        -DTEMPLATE='"Templates/attention.cut"' bench/cuda/attention_variants.cu -o attn && ./attn 8 12 197 577 1024 4096
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "prelude.cuh"
#define FUSION_KERNEL attention_variant
#include TEMPLATE

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        cudaError_t e = (x);                                                                       \
        if (e != cudaSuccess) { std::printf("%s: %s\n", #x, cudaGetErrorString(e)); std::exit(1); } \
    } while (0)

__global__ void fill_random(half* p, long long n, unsigned seed)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 15; h *= 2246822519u; h ^= h >> 13; h *= 3266489917u; h ^= h >> 16;
        p[i] = float_to_half((h & 0xffffff) / 8388608.f - 1.f); // uniform in [-1, 1)
    }
}

// One thread a query row: two passes over the keys in float32 (maximum, then exponentials and the weighted sum).
__global__ void reference(const half* q, const half* k, const half* v, float* out, int rows, int t, float scale, int causal)
{
    const int id = blockIdx.x * blockDim.x + threadIdx.x;
    if (id >= rows) return;
    const int i = id % t;
    const long long head = id / t;
    const half* qi = q + (long long)id * FUSION_HEAD_DIM;
    const half* kh = k + head * t * FUSION_HEAD_DIM;
    const half* vh = v + head * t * FUSION_HEAD_DIM;
    float qf[FUSION_HEAD_DIM], acc[FUSION_HEAD_DIM];
    for (int e = 0; e < FUSION_HEAD_DIM; e++) { qf[e] = half_to_float(qi[e]); acc[e] = 0.f; }
    const int end = causal ? i + 1 : t;
    float mx = -3.4e38f;
    for (int j = 0; j < end; j++)
    {
        float s = 0.f;
        for (int e = 0; e < FUSION_HEAD_DIM; e++) s += qf[e] * half_to_float(kh[(long long)j * FUSION_HEAD_DIM + e]);
        mx = fmaxf(mx, s * scale);
    }
    float sum = 0.f;
    for (int j = 0; j < end; j++)
    {
        float s = 0.f;
        for (int e = 0; e < FUSION_HEAD_DIM; e++) s += qf[e] * half_to_float(kh[(long long)j * FUSION_HEAD_DIM + e]);
        const float p = expf(s * scale - mx);
        sum += p;
        for (int e = 0; e < FUSION_HEAD_DIM; e++) acc[e] += p * half_to_float(vh[(long long)j * FUSION_HEAD_DIM + e]);
    }
    for (int e = 0; e < FUSION_HEAD_DIM; e++) out[(long long)id * FUSION_HEAD_DIM + e] = acc[e] / sum;
}

static float half_bits_to_float(unsigned short b)
{
    const unsigned sign = (b >> 15) & 1, exp = (b >> 10) & 31, man = b & 1023;
    float f = exp == 0 ? std::ldexp((float)man, -24) : exp == 31 ? (man ? NAN : INFINITY) : std::ldexp((float)(man | 1024), (int)exp - 25);
    return sign ? -f : f;
}

int main(int argc, char** argv)
{
    const int b = argc > 1 ? std::atoi(argv[1]) : 8, h = argc > 2 ? std::atoi(argv[2]) : 12;
    const float scale = argc > 3 && std::strcmp(argv[3], "neg") == 0 ? -0.125f : 0.125f;
    const int d = FUSION_HEAD_DIM;
    CHECK(cudaFuncSetAttribute(attention_variant, cudaFuncAttributeMaxDynamicSharedMemorySize, AT_SMEM_BYTES));
    cudaFuncAttributes attr;
    CHECK(cudaFuncGetAttributes(&attr, attention_variant));
    int perSm = 0;
    CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, attention_variant, AT_THREADS, AT_SMEM_BYTES));
    std::printf("%d registers, %zu B local, %d B shared, %d blocks/SM, scale %g\n", attr.numRegs, attr.localSizeBytes, AT_SMEM_BYTES, perSm, scale);
    for (int a = 4; a < argc; a++)
    {
        const int t = std::atoi(argv[a]);
        const long long n = (long long)b * h * t * d;
        half *q, *k, *v, *o;
        float* ref;
        CHECK(cudaMalloc(&q, n * 2)); CHECK(cudaMalloc(&k, n * 2)); CHECK(cudaMalloc(&v, n * 2)); CHECK(cudaMalloc(&o, n * 2));
        CHECK(cudaMalloc(&ref, n * 4));
        fill_random<<<1024, 256>>>(q, n, 1u + t); fill_random<<<1024, 256>>>(k, n, 7u + t); fill_random<<<1024, 256>>>(v, n, 13u + t);
        CHECK(cudaMemset(o, 0xff, n * 2));
        const int qBlocks = (t + AT_BM - 1) / AT_BM;
        const dim3 grid(b * h * qBlocks);
        // head_group as the launcher computes it (equal groups of about two waves of resident blocks), or HEAD_GROUP from the environment.
        int sms = 0;
        CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
        const double target = std::max(1.0, 2.0 * perSm * sms / qBlocks);
        const int groups = std::max(1, (int)std::lround(b * h / target));
        const int headGroup = std::getenv("HEAD_GROUP") ? std::atoi(std::getenv("HEAD_GROUP")) : (b * h + groups - 1) / groups;
        auto launch = [&] {
            attention_variant<<<grid, AT_THREADS, AT_SMEM_BYTES>>>(q, k, v, nullptr, o, h, t, t, scale, (long long)h * t * d, (long long)t * d, d,
                (long long)h * t * d, (long long)t * d, d, (long long)h * t * d, (long long)t * d, d, (long long)h * t * d, (long long)t * d, d, 0, 0, headGroup);
        };
        launch();
        CHECK(cudaDeviceSynchronize());
        reference<<<(b * h * t + 127) / 128, 128>>>(q, k, v, ref, b * h * t, t, scale, FUSION_CAUSAL);
        CHECK(cudaDeviceSynchronize());
        std::vector<unsigned short> got(n);
        std::vector<float> want(n);
        CHECK(cudaMemcpy(got.data(), o, n * 2, cudaMemcpyDeviceToHost));
        CHECK(cudaMemcpy(want.data(), ref, n * 4, cudaMemcpyDeviceToHost));
        double maxErr = 0, maxRef = 0, excess = 0;
        for (long long i = 0; i < n; i++)
        {
            const double g = half_bits_to_float(got[i]), w = want[i], err = std::fabs(g - w);
            maxErr = std::max(maxErr, std::isnan(g) ? 1e30 : err);
            maxRef = std::max(maxRef, std::fabs(w));
            excess = std::max(excess, err / (2e-3 + 4e-3 * std::fabs(w))); // the CUDA tests' tolerance: ≤ 1 passes
        }
        cudaEvent_t e0, e1;
        CHECK(cudaEventCreate(&e0)); CHECK(cudaEventCreate(&e1));
        for (int i = 0; i < 10; i++) launch();
        std::vector<float> times;
        for (int i = 0; i < 100; i++)
        {
            CHECK(cudaEventRecord(e0)); launch(); CHECK(cudaEventRecord(e1)); CHECK(cudaEventSynchronize(e1));
            float ms; CHECK(cudaEventElapsedTime(&ms, e0, e1)); times.push_back(ms * 1000.f);
        }
        std::sort(times.begin(), times.end());
        const double us = times[50], flop = 4.0 * b * h * (double)t * t * d * (FUSION_CAUSAL ? 0.5 : 1);
        std::printf("T %5d: %9.1f us  %6.1f TFLOP/s  max err %.2e (|ref| ≤ %.2f, tolerance use %.2f)\n", t, us, flop / us * 1e-6, maxErr, maxRef, excess);
        cudaFree(q); cudaFree(k); cudaFree(v); cudaFree(o); cudaFree(ref);
    }
    return 0;
}
