// Programmatic dependent launch probe (issue 18, batch-1 latency): how much of a kernel boundary inside a CUDA graph does Hopper's
// PDL save, and does it help next to cuBLASLt's GEMMs (which Fusion cannot make wait for it)?
//
// A chain of small memory-bound kernels (each reads the previous one's output and writes the other buffer, 301,056 halves: a
// batch-1 stage-1 activation, as the LayerNorm kernels move) is captured into a graph and replayed; the median replay time over
// the kernel count is the cost of one kernel with its boundary. Variants:
//   plain       cuLaunchKernel's ordinary stream order
//   pdl         launched with programmatic stream serialization; each kernel waits (griddepcontrol.wait) before touching memory
//               and then lets its dependents launch (griddepcontrol.launch_dependents)
//   pdl-late    the same attribute and wait, no early trigger (dependents launch as its blocks exit)
//   gemm plain / gemm pdl   the chain interleaved with cuBLASLt products (M 196, N 1152, K 384: a batch-1 stage-3 qkv) that
//               read the small kernel's output and feed the next one; only the small kernels take the attribute
// Every variant's final buffer must equal the plain chain's bit for bit (the waits keep the order); the probe says so.
// Build and run on the GPU machine:
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -o pdl_probe bench/cuda/pdl_probe.cu -lcublasLt && ./pdl_probe
#include <cublasLt.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("cuda %s at line %d\n", cudaGetErrorString(e_), __LINE__); exit(1); } } while (0)
#define LT(x) do { cublasStatus_t s_ = (x); if (s_ != CUBLAS_STATUS_SUCCESS) { printf("cublasLt status %d at line %d\n", (int)s_, __LINE__); exit(1); } } while (0)

enum Mode { Plain = 0, Pdl = 1, PdlLate = 2 };

__global__ void step(const half* __restrict__ in, half* __restrict__ out, int n, int mode)
{
    if (mode != Plain) asm volatile("griddepcontrol.wait;" ::: "memory");
    if (mode == Pdl) asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    int stride = gridDim.x * blockDim.x * 2;
    for (int i = (blockIdx.x * blockDim.x + threadIdx.x) * 2; i < n; i += stride)
    {
        half2 v = *reinterpret_cast<const half2*>(in + i);
        float2 f = __half22float2(v);
        f.x = f.x * 0.999f + 0.001f; f.y = f.y * 0.999f - 0.001f;
        *reinterpret_cast<half2*>(out + i) = __floats2half2_rn(f.x, f.y);
    }
}

static void launch(const half* in, half* out, int n, Mode mode, cudaStream_t s)
{
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(264); cfg.blockDim = dim3(256); cfg.stream = s;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr; cfg.numAttrs = mode == Plain ? 0 : 1;
    CK(cudaLaunchKernelEx(&cfg, step, in, out, n, (int)mode));
}

struct Gemm
{
    cublasLtHandle_t handle; cublasLtMatmulDesc_t op; cublasLtMatrixLayout_t a, b, d; cublasLtMatmulAlgo_t algo;
    void* workspace; size_t workspaceSize = 32 << 20; int m, n, k;
    Gemm(int m_, int n_, int k_) : m(m_), n(n_), k(k_)
    {
        LT(cublasLtCreate(&handle));
        LT(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
        cublasOperation_t t = CUBLAS_OP_T, nt = CUBLAS_OP_N;
        // Row-major D[m, n] = A[m, k] · W[n, k]ᵀ as column-major D' = W · A'.
        LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
        LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &nt, sizeof nt));
        LT(cublasLtMatrixLayoutCreate(&a, CUDA_R_16F, k, n, k));
        LT(cublasLtMatrixLayoutCreate(&b, CUDA_R_16F, k, m, k));
        LT(cublasLtMatrixLayoutCreate(&d, CUDA_R_16F, n, m, n));
        CK(cudaMalloc(&workspace, workspaceSize));
        cublasLtMatmulPreference_t pref; LT(cublasLtMatmulPreferenceCreate(&pref));
        LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspaceSize, sizeof workspaceSize));
        cublasLtMatmulHeuristicResult_t r; int found = 0;
        LT(cublasLtMatmulAlgoGetHeuristic(handle, op, a, b, d, d, pref, 1, &r, &found));
        if (found == 0) { printf("no cuBLASLt algorithm\n"); exit(1); }
        algo = r.algo;
    }
    void run(const half* w, const half* x, half* y, cudaStream_t s)
    {
        float one = 1, zero = 0;
        LT(cublasLtMatmul(handle, op, &one, w, a, x, b, &zero, y, d, y, d, &algo, workspace, workspaceSize, s));
    }
};

int main()
{
    const int n = 56 * 56 * 96, kernels = 90, m = 196, gn = 1152, gk = 384;
    cudaStream_t s; CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    half *x, *y, *w, *g;
    CK(cudaMalloc(&x, n * sizeof(half))); CK(cudaMalloc(&y, n * sizeof(half)));
    CK(cudaMalloc(&w, (size_t)gn * gk * sizeof(half))); CK(cudaMalloc(&g, (size_t)m * gn * sizeof(half)));
    std::vector<half> host(std::max(n, gn * gk));
    srand(7);
    for (auto& h : host) h = __float2half((rand() % 2001 - 1000) / 1000.0f);
    CK(cudaMemcpy(w, host.data(), (size_t)gn * gk * sizeof(half), cudaMemcpyHostToDevice));
    Gemm gemm(m, gn, gk);

    auto build = [&](Mode mode, bool withGemm) {
        CK(cudaMemcpyAsync(x, host.data(), n * sizeof(half), cudaMemcpyHostToDevice, s));
        CK(cudaStreamSynchronize(s));
        cudaGraph_t graph; cudaGraphExec_t exec;
        CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
        if (!withGemm)
            for (int i = 0; i < kernels; i++) launch(i % 2 ? y : x, i % 2 ? x : y, n, mode, s);
        else
            for (int i = 0; i < kernels / 2; i++)
            {
                // the small kernel writes the GEMM's activations (x → y), the GEMM reads them and writes g, whose first
                // elements the next small kernel reads back into x's place.
                launch(i == 0 ? x : g, y, m * gk, mode, s);
                gemm.run(w, y, g, s);
            }
        CK(cudaStreamEndCapture(s, &graph));
        CK(cudaGraphInstantiate(&exec, graph, 0));
        CK(cudaGraphDestroy(graph));
        return exec;
    };
    auto time = [&](cudaGraphExec_t exec) {
        cudaEvent_t a, b; CK(cudaEventCreate(&a)); CK(cudaEventCreate(&b));
        for (int i = 0; i < 20; i++) CK(cudaGraphLaunch(exec, s));
        std::vector<float> ms;
        for (int i = 0; i < 200; i++)
        {
            CK(cudaEventRecord(a, s)); CK(cudaGraphLaunch(exec, s)); CK(cudaEventRecord(b, s));
            CK(cudaEventSynchronize(b)); float t; CK(cudaEventElapsedTime(&t, a, b)); ms.push_back(t);
        }
        std::sort(ms.begin(), ms.end());
        return ms[ms.size() / 2] * 1000.0f;
    };
    auto result = [&](cudaGraphExec_t exec, bool withGemm) {
        // one replay from the initial input, then the final buffer's bytes. The copy goes on s: s does not wait for the legacy
        // stream, and a pageable cudaMemcpy may return before its DMA has landed.
        CK(cudaMemcpyAsync(x, host.data(), n * sizeof(half), cudaMemcpyHostToDevice, s));
        CK(cudaGraphLaunch(exec, s)); CK(cudaStreamSynchronize(s));
        size_t count = withGemm ? (size_t)m * gn : (size_t)n;
        std::vector<half> out(count);
        CK(cudaMemcpy(out.data(), withGemm ? g : x, count * sizeof(half), cudaMemcpyDeviceToHost));
        return out;
    };

    const char* names[] = { "plain", "pdl", "pdl-late" };
    printf("device: "); { cudaDeviceProp p; CK(cudaGetDeviceProperties(&p, 0)); printf("%s\n", p.name); }
    for (int withGemm = 0; withGemm < 2; withGemm++)
    {
        std::vector<half> reference;
        float plainUs = 0;
        for (int mode = Plain; mode <= PdlLate; mode++)
        {
            cudaGraphExec_t exec = build((Mode)mode, withGemm);
            float us = time(exec);
            std::vector<half> out = result(exec, withGemm);
            if (mode == Plain) { reference = out; plainUs = us; }
            bool same = memcmp(out.data(), reference.data(), out.size() * sizeof(half)) == 0;
            int count = kernels;
            printf("%-5s %-9s %3d launches: %8.1f us a replay, %6.2f us a launch (%+.2f vs plain) result %s\n",
                withGemm ? "gemm" : "chain", names[mode], count, us, us / count, (us - plainUs) / count, same ? "identical" : "DIFFERENT");
            CK(cudaGraphExecDestroy(exec));
        }
    }
    return 0;
}
