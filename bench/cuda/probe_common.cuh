// What the GEMM probes (int8_epilogue_probe.cu, gemm_resident_probe.cu) share: the device and cuBLASLt set-up, cuBLASLt's fp16 GEMM
// with a bias epilogue timed as the variants are, and the launch of bench/cuda/persistent_gemm.cut.
#pragma once
#include <cublasLt.h>

#include "gemm_harness_data.cuh"

#define CB(x) do { cublasStatus_t s_ = (x); if (s_ != CUBLAS_STATUS_SUCCESS) { printf("cuBLASLt %d at %s:%d\n", (int)s_, __FILE__, __LINE__); exit(1); } } while (0)

/// cuBLASLt fp16: out [M, N] = epilogue(x [M, K] · w [N, K]ᵀ) with the bias (BIAS or GELU_BIAS), its default heuristic's first
/// algorithm; microseconds (CUDA events, 3 warm-ups, median of 20).
static double cublas_epilogue_us(cublasLtHandle_t lt, int m, int n, int k, cublasLtEpilogue_t epilogue, void* workspace, size_t workspaceBytes)
{
    __half *x, *w, *bias, *out;
    CK(cudaMalloc(&x, (size_t)m * k * 2)); CK(cudaMalloc(&w, (size_t)n * k * 2)); CK(cudaMalloc(&bias, n * 2)); CK(cudaMalloc(&out, (size_t)m * n * 2));
    fill<<<1024, 256>>>(x, (long long)m * k, 0, 11); fill<<<1024, 256>>>(w, (long long)n * k, 0, 12); fill<<<64, 256>>>(bias, n, 0, 13);
    CK(cudaDeviceSynchronize());
    cublasLtMatmulDesc_t op; CB(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
    CB(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
    CB(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof nn));
    CB(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue));
    CB(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
    // Column-major: out'[N, M] = w'[K, N]ᵀ · x'[K, M].
    cublasLtMatrixLayout_t a, b, c;
    CB(cublasLtMatrixLayoutCreate(&a, CUDA_R_16F, k, n, k));
    CB(cublasLtMatrixLayoutCreate(&b, CUDA_R_16F, k, m, k));
    CB(cublasLtMatrixLayoutCreate(&c, CUDA_R_16F, n, m, n));
    cublasLtMatmulPreference_t pref; CB(cublasLtMatmulPreferenceCreate(&pref));
    CB(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspaceBytes, sizeof workspaceBytes));
    cublasLtMatmulHeuristicResult_t h; int found = 0;
    CB(cublasLtMatmulAlgoGetHeuristic(lt, op, a, b, c, c, pref, 1, &h, &found));
    if (found == 0) { printf("cuBLASLt: no algorithm\n"); exit(1); }
    const float alpha = 1, beta = 0;
    cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    std::vector<float> ts;
    for (int i = 0; i < 23; i++)
    {
        CK(cudaEventRecord(e0));
        CB(cublasLtMatmul(lt, op, &alpha, w, a, x, b, &beta, out, c, out, c, &h.algo, workspace, workspaceBytes, 0));
        CK(cudaEventRecord(e1)); CK(cudaEventSynchronize(e1));
        float ms; CK(cudaEventElapsedTime(&ms, e0, e1));
        if (i >= 3) ts.push_back(ms);
    }
    std::sort(ts.begin(), ts.end());
    cublasLtMatmulPreferenceDestroy(pref); cublasLtMatrixLayoutDestroy(a); cublasLtMatrixLayoutDestroy(b); cublasLtMatrixLayoutDestroy(c);
    cublasLtMatmulDescDestroy(op);
    cudaFree(x); cudaFree(w); cudaFree(bias); cudaFree(out);
    return ts[ts.size() / 2] * 1000;
}

/// The device, a cuBLASLt handle, its workspace and a device counter, set up once; the device line printed.
struct ProbeSetup
{
    cudaDeviceProp prop;
    cublasLtHandle_t lt;
    size_t workspaceBytes = 32 << 20;
    void* workspace;
    unsigned long long* count;

    ProbeSetup()
    {
        CK(cudaFree(0));
        CK(cudaGetDeviceProperties(&prop, 0));
        int nv_major, nv_minor;
        nvrtcVersion(&nv_major, &nv_minor);
        printf("device %s, %d SMs, NVRTC %d.%d\n", prop.name, prop.multiProcessorCount, nv_major, nv_minor);
        CB(cublasLtCreate(&lt));
        CK(cudaMalloc(&workspace, workspaceBytes));
        CK(cudaMalloc(&count, 8));
    }
};

/// persistent_gemm.cut's slab: the widest multiple of 96 up to limit that divides n.
static int persist_slab(int n, int limit)
{
    for (int nb = limit / 96 * 96; nb > 96; nb -= 96)
        if (n % nb == 0) return nb;
    return 96;
}

/// persistent_gemm.cut's launch for f (256 threads, 8 warps): its dynamic shared memory (the slab of w's rows of rowBytes, and
/// each warp's two x buffers and staging), set as f's limit, and as many blocks as fit the SMs, a multiple of the slabs.
static void persist_launch(CUfunction f, int sms, int n, int rowBytes, int slabLimit, unsigned& grid, unsigned& smem)
{
    const int nb = persist_slab(n, slabLimit), slabs = n / nb, kp = rowBytes + 16;
    smem = (unsigned)(nb * kp + 8 * (2 * 16 * kp + 16 * 40 * 4));
    CD(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)smem));
    int per_sm = 0;
    CD(cuOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, f, 256, smem));
    grid = (unsigned)(sms * per_sm / slabs * slabs);
}
