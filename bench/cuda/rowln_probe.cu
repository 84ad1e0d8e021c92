// Row-kernel probe (issue 18, the LayerNorm kernels at batch 64): Swin-T stage 1's LayerNorm + roll + window partition over rows
// of 96 halves (200,704 rows at batch 64, 38.5 MB read and 38.5 MB written), which Nsight Compute found at 46 % of DRAM peak,
// waiting on its loads (long scoreboard) at 50 % occupancy (54 registers), each thread holding two rows' loads. Hand-written forms
// of the printed kernel, one template with the knobs the row printer could turn:
//   LANES / CHUNKS  lanes a row and 16-byte chunks a lane (16 × 1 is what the printer picks for 96 halves; 4 × 3 covers it exactly)
//   ROWS            rows a lane group holds in flight (the printer: 2)
//   HOIST           gamma and beta loaded once a thread instead of once a row (they do not depend on the row)
//   RAW             the rows kept as loaded halves until after every load is issued (the printer converts to float at the load)
// plus two floors for the same bytes: the gather alone (the partition's addressing, no arithmetic) and a contiguous copy. Then rows of
// 192 and 384 halves (stages 2 and 3, as many bytes, read in place) in the lane splits those widths allow.
// Each form's output is compared with a float64 reference on the host (max |error| printed; fp16 rounding is about 4e-3 here).
// Build and run on the GPU machine:
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -o rowln_probe bench/cuda/rowln_probe.cu && ./rowln_probe [batch]
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("cuda %s at line %d\n", cudaGetErrorString(e_), __LINE__); exit(1); } } while (0)

constexpr int V = 8, kThreads = 256;

// Where row r (window-major: r = window · 49 + token) of the partitioned output reads the [N, 56, 56, 96] image, shifted by 3;
// wider rows (stages 2 and 3: 192 and 384 halves) are read in place.
template <int C>
__device__ __host__ __forceinline__ int source_of(int r)
{
    if (C != 96) return r * C;
    const int v0 = r / 49, v1 = r % 49;
    return 5376 * ((7 * ((v0 % 64) / 8) + v1 / 7 + 3) % 56) + 96 * ((7 * (v0 % 8) + v1 % 7 + 3) % 56) + 301056 * (v0 / 64);
}

__device__ __forceinline__ void to_floats(uint4 raw, float* f)
{
    const half2* h = reinterpret_cast<const half2*>(&raw);
#pragma unroll
    for (int i = 0; i < 4; i++) { float2 p = __half22float2(h[i]); f[2 * i] = p.x; f[2 * i + 1] = p.y; }
}

__device__ __forceinline__ uint4 to_halves(const float* f)
{
    uint4 raw;
    half2* h = reinterpret_cast<half2*>(&raw);
#pragma unroll
    for (int i = 0; i < 4; i++) h[i] = __floats2half2_rn(f[2 * i], f[2 * i + 1]);
    return raw;
}

template <int C, int LANES, int CHUNKS, int ROWS, bool HOIST, bool RAW>
__global__ void __launch_bounds__(kThreads) layer_norm(const half* __restrict__ x, const half* __restrict__ g, const half* __restrict__ b, half* __restrict__ out, int rows)
{
    constexpr int groups = 32 / LANES, kChunks = C / V;
    const int lane = threadIdx.x & 31, sub = lane % LANES;
    const int first = ((blockIdx.x * (kThreads / 32) + (threadIdx.x >> 5)) * groups + lane / LANES) * ROWS;
    uint4 xr[ROWS][CHUNKS];
    float xf[RAW ? 1 : ROWS][RAW ? 1 : CHUNKS * V];
    uint4 gr[HOIST ? 1 : ROWS][CHUNKS], br[HOIST ? 1 : ROWS][CHUNKS];
#pragma unroll
    for (int u = 0; u < ROWS; u++)
    {
        const int row = first + u;
        const bool okRow = row < rows;
        const int src = source_of<C>(okRow ? row : 0);
#pragma unroll
        for (int c = 0; c < CHUNKS; c++)
        {
            const int chunk = c * LANES + sub;
            const bool ok = okRow && chunk < kChunks;
            xr[u][c] = ok ? *reinterpret_cast<const uint4*>(x + src + chunk * V) : make_uint4(0, 0, 0, 0);
            if (!HOIST || u == 0)
            {
                const bool okc = chunk < kChunks;
                gr[HOIST ? 0 : u][c] = okc ? *reinterpret_cast<const uint4*>(g + chunk * V) : make_uint4(0, 0, 0, 0);
                br[HOIST ? 0 : u][c] = okc ? *reinterpret_cast<const uint4*>(b + chunk * V) : make_uint4(0, 0, 0, 0);
            }
            if (!RAW) to_floats(xr[u][c], &xf[RAW ? 0 : u][c * V]);
        }
    }
#pragma unroll
    for (int u = 0; u < ROWS; u++)
    {
        const int row = first + u;
        float f[CHUNKS * V];
#pragma unroll
        for (int c = 0; c < CHUNKS; c++)
        {
            if (RAW) to_floats(xr[u][c], &f[c * V]);
            else
#pragma unroll
                for (int e = 0; e < V; e++) f[c * V + e] = xf[RAW ? 0 : u][c * V + e];
        }
        float s = 0.0f;
#pragma unroll
        for (int c = 0; c < CHUNKS; c++)
            if (c * LANES + sub < kChunks)
#pragma unroll
                for (int e = 0; e < V; e++) s += f[c * V + e];
#pragma unroll
        for (int m = LANES / 2; m > 0; m >>= 1) s += __shfl_xor_sync(0xffffffffu, s, m);
        const float mean = s * (1.0f / C);
        float q = 0.0f;
#pragma unroll
        for (int c = 0; c < CHUNKS; c++)
            if (c * LANES + sub < kChunks)
#pragma unroll
                for (int e = 0; e < V; e++) { f[c * V + e] -= mean; q += f[c * V + e] * f[c * V + e]; }
#pragma unroll
        for (int m = LANES / 2; m > 0; m >>= 1) q += __shfl_xor_sync(0xffffffffu, q, m);
        const float rstd = rsqrtf(q * (1.0f / C) + 1e-5f);
        if (row >= rows) continue;
#pragma unroll
        for (int c = 0; c < CHUNKS; c++)
        {
            const int chunk = c * LANES + sub;
            if (chunk >= kChunks) continue;
            float gf[V], bf[V], o[V];
            to_floats(gr[HOIST ? 0 : u][c], gf);
            to_floats(br[HOIST ? 0 : u][c], bf);
#pragma unroll
            for (int e = 0; e < V; e++) o[e] = f[c * V + e] * rstd * gf[e] + bf[e];
            *reinterpret_cast<uint4*>(out + (size_t)row * C + chunk * V) = to_halves(o);
        }
    }
}

// The floors: the same gather without arithmetic, and a contiguous copy of as many bytes (a thread a 16-byte chunk).
template <int C>
__global__ void __launch_bounds__(kThreads) gather_only(const half* __restrict__ x, half* __restrict__ out, int rows)
{
    constexpr int kChunks = C / V;
    const int i = blockIdx.x * kThreads + threadIdx.x, row = i / kChunks, chunk = i % kChunks;
    if (row >= rows) return;
    *reinterpret_cast<uint4*>(out + (size_t)row * C + chunk * V) = *reinterpret_cast<const uint4*>(x + source_of<C>(row) + chunk * V);
}

__global__ void __launch_bounds__(kThreads) copy_only(const uint4* __restrict__ x, uint4* __restrict__ out, int n)
{
    const int i = blockIdx.x * kThreads + threadIdx.x;
    if (i < n) out[i] = x[i];
}

struct Run
{
    const char* name;
    void (*launch)(const half*, const half*, const half*, half*, int, cudaStream_t);
    bool checked;
};

template <int C, int LANES, int CHUNKS, int ROWS, bool HOIST, bool RAW>
void launch_ln(const half* x, const half* g, const half* b, half* out, int rows, cudaStream_t s)
{
    const int rowsPerBlock = (kThreads / 32) * (32 / LANES) * ROWS;
    layer_norm<C, LANES, CHUNKS, ROWS, HOIST, RAW><<<(rows + rowsPerBlock - 1) / rowsPerBlock, kThreads, 0, s>>>(x, g, b, out, rows);
}

template <int C>
void launch_gather(const half* x, const half*, const half*, half* out, int rows, cudaStream_t s)
{
    constexpr int kChunks = C / V;
    gather_only<C><<<(rows * kChunks + kThreads - 1) / kThreads, kThreads, 0, s>>>(x, out, rows);
}

template <int C>
void launch_copy(const half* x, const half*, const half*, half* out, int rows, cudaStream_t s)
{
    constexpr int kChunks = C / V;
    const int n = rows * kChunks;
    copy_only<<<(n + kThreads - 1) / kThreads, kThreads, 0, s>>>(reinterpret_cast<const uint4*>(x), reinterpret_cast<uint4*>(out), n);
}

template <int C>
void measure(int batch, const std::vector<Run>& runs)
{
    const int rows = batch * 3136 * 96 / C;
    const size_t n = (size_t)rows * C;
    std::vector<half> hx(n), hg(C), hb(C);
    srand(7);
    auto rnd = [] { return (float)rand() / RAND_MAX * 2.0f - 1.0f; };
    for (size_t i = 0; i < n; i++) hx[i] = __float2half(rnd() * 3.0f + 0.5f);
    for (int i = 0; i < C; i++) { hg[i] = __float2half(1.0f + 0.5f * rnd()); hb[i] = __float2half(0.2f * rnd()); }
    half *x, *g, *b, *out;
    CK(cudaMalloc(&x, n * 2)); CK(cudaMalloc(&out, n * 2)); CK(cudaMalloc(&g, C * 2)); CK(cudaMalloc(&b, C * 2));
    CK(cudaMemcpy(x, hx.data(), n * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(g, hg.data(), C * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(b, hb.data(), C * 2, cudaMemcpyHostToDevice));

    // The float64 reference at a sample of rows (every 97th), with the same gather.
    std::vector<int> sample;
    for (int r = 0; r < rows; r += 97) sample.push_back(r);
    std::vector<double> ref(sample.size() * C);
    for (size_t si = 0; si < sample.size(); si++)
    {
        const size_t src = (size_t)source_of<C>(sample[si]);
        double mean = 0, var = 0;
        for (int c = 0; c < C; c++) mean += __half2float(hx[src + c]);
        mean /= C;
        for (int c = 0; c < C; c++) { double d = __half2float(hx[src + c]) - mean; var += d * d; }
        var /= C;
        for (int c = 0; c < C; c++)
            ref[si * C + c] = (__half2float(hx[src + c]) - mean) / std::sqrt(var + 1e-5) * __half2float(hg[c]) + __half2float(hb[c]);
    }

    cudaStream_t s;
    CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    const double bytes = 2.0 * n * 2;
    printf("\nbatch %d: %d rows of %d halves, %.1f MB moved a call\n", batch, rows, C, bytes / 1e6);
    std::vector<half> hout(n);
    const int kRounds = 5, kReps = 50;
    std::vector<std::vector<float>> times(runs.size());
    for (int round = 0; round < kRounds; round++)
        for (size_t ri = 0; ri < times.size(); ri++)
        {
            auto& run = runs[ri];
            for (int w = 0; w < 5; w++) run.launch(x, g, b, out, rows, s);
            CK(cudaEventRecord(e0, s));
            for (int rep = 0; rep < kReps; rep++) run.launch(x, g, b, out, rows, s);
            CK(cudaEventRecord(e1, s));
            CK(cudaEventSynchronize(e1));
            float ms;
            CK(cudaEventElapsedTime(&ms, e0, e1));
            times[ri].push_back(ms * 1000.0f / kReps);
        }
    for (size_t ri = 0; ri < times.size(); ri++)
    {
        auto& run = runs[ri];
        CK(cudaMemset(out, 0, n * 2));
        run.launch(x, g, b, out, rows, s);
        CK(cudaStreamSynchronize(s));
        CK(cudaGetLastError());
        double err = 0;
        if (run.checked)
        {
            CK(cudaMemcpy(hout.data(), out, n * 2, cudaMemcpyDeviceToHost));
            for (size_t si = 0; si < sample.size(); si++)
                for (int c = 0; c < C; c++) err = std::max(err, std::fabs(__half2float(hout[(size_t)sample[si] * C + c]) - ref[si * C + c]));
        }
        std::sort(times[ri].begin(), times[ri].end());
        const float med = times[ri][kRounds / 2];
        printf("%-72s %8.2f us  %6.2f TB/s  (min %.2f, max %.2f)", run.name, med, bytes / med / 1e6, times[ri].front(), times[ri].back());
        if (run.checked) printf("  max|err| %.2e%s", err, err > 2e-2 ? "  WRONG" : "");
        printf("\n");
    }
    CK(cudaFree(x)); CK(cudaFree(out)); CK(cudaFree(g)); CK(cudaFree(b));
}

int main(int argc, char** argv)
{
    const int batch = argc > 1 ? atoi(argv[1]) : 64;
    measure<96>(batch, {
        {"printed form before: 16 lanes x 1 chunk, 2 rows, gamma/beta a row, floats at load", launch_ln<96, 16, 1, 2, false, false>, true},
        {"16 x 1, 2 rows, gamma/beta once", launch_ln<96, 16, 1, 2, true, false>, true},
        {"printed form now: 16 x 1, 2 rows, gamma/beta once, raw", launch_ln<96, 16, 1, 2, true, true>, true},
        {"16 x 1, 4 rows, gamma/beta once, raw", launch_ln<96, 16, 1, 4, true, true>, true},
        {"4 x 3, 1 row, gamma/beta once, raw", launch_ln<96, 4, 3, 1, true, true>, true},
        {"4 x 3, 2 rows, gamma/beta once, raw", launch_ln<96, 4, 3, 2, true, true>, true},
        {"8 x 2 (4 idle), 2 rows, gamma/beta once, raw", launch_ln<96, 8, 2, 2, true, true>, true},
        {"8 x 2 (4 idle), 4 rows, gamma/beta once, raw", launch_ln<96, 8, 2, 4, true, true>, true},
        {"floor: the gather alone", launch_gather<96>, false},
        {"floor: a contiguous copy", launch_copy<96>, false},
    });
    measure<192>(batch, {
        {"printed form before: 32 x 1 (8 idle), 2 rows, floats at load", launch_ln<192, 32, 1, 2, false, false>, true},
        {"printed form now: 32 x 1 (8 idle), 2 rows, gamma/beta once, raw", launch_ln<192, 32, 1, 2, true, true>, true},
        {"32 x 1 (8 idle), 4 rows, raw", launch_ln<192, 32, 1, 4, true, true>, true},
        {"8 x 3, 1 row, raw", launch_ln<192, 8, 3, 1, true, true>, true},
        {"8 x 3, 2 rows, raw", launch_ln<192, 8, 3, 2, true, true>, true},
        {"4 x 6, 1 row, raw", launch_ln<192, 4, 6, 1, true, true>, true},
        {"floor: a contiguous copy", launch_copy<192>, false},
    });
    measure<384>(batch, {
        {"printed form before: 16 x 3, 1 row, floats at load", launch_ln<384, 16, 3, 1, false, false>, true},
        {"printed form now: 16 x 3, 1 row, raw", launch_ln<384, 16, 3, 1, true, true>, true},
        {"16 x 3, 2 rows, raw", launch_ln<384, 16, 3, 2, true, true>, true},
        {"8 x 6, 1 row, raw", launch_ln<384, 8, 6, 1, true, true>, true},
        {"32 x 2 (16 idle), 1 row, raw", launch_ln<384, 32, 2, 1, true, true>, true},
        {"32 x 2 (16 idle), 2 rows, raw", launch_ln<384, 32, 2, 2, true, true>, true},
        {"floor: a contiguous copy", launch_copy<384>, false},
    });
    return 0;
}
