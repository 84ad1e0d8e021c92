// cuBLASLt alone, configured as Fusion configures it, on Swin-T's linear layers: for reproducing compute-sanitizer's
// findings in cuBLASLt's kernels without any Fusion code (docs/reliability.md). fp16 operands and output, fp32
// compute and scale, Y = X·Wᵀ as D[N, M] = Wᵀ(op T) · X (column-major), cuBLASLt's first heuristic algorithm with a
// 32 MiB workspace, the epilogues Fusion asks for (bias, gelu+bias, a residual as C with beta = 1).
// After the products, one elementwise kernel reads every GEMM output and one reads a buffer an elementwise kernel wrote
// (the control for initcheck).
//   nvcc -O2 -arch=sm_90 -o cublaslt_alone cublaslt_alone.cu -lcublasLt && ./cublaslt_alone [BATCH]
#include <cublasLt.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK_CUDA(call) do { cudaError_t e = (call); if (e != cudaSuccess) { std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(e)); std::exit(1); } } while (0)
#define CHECK_LT(call) do { cublasStatus_t s = (call); if (s != CUBLAS_STATUS_SUCCESS) { std::fprintf(stderr, "%s: status %d\n", #call, (int)s); std::exit(1); } } while (0)

struct Layer { const char* name; long m; int n; int k; cublasLtEpilogue_t epilogue; bool residual; };

__global__ void fill(__half* x, long n, float scale) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        x[i] = __float2half(scale * (float)((i * 7919) % 2003 - 1001) / 1001.0f);
}

__global__ void sum(const __half* x, long n, float* out) {
    float s = 0;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) s += __half2float(x[i]);
    atomicAdd(out, s);
}

static __half* filled(long n, float scale) {
    __half* p;
    CHECK_CUDA(cudaMalloc(&p, n * sizeof(__half)));
    fill<<<256, 256>>>(p, n, scale);
    return p;
}

int main(int argc, char** argv) {
    int batch = argc > 1 ? std::atoi(argv[1]) : 3;
    std::vector<Layer> layers;
    for (int s = 0; s < 4; s++) {
        int c = 96 << s;
        long tokens = (long)(56 >> s) * (56 >> s) * batch;
        layers.push_back({"qkv", tokens, 3 * c, c, CUBLASLT_EPILOGUE_BIAS, false});
        layers.push_back({"proj", tokens, c, c, CUBLASLT_EPILOGUE_BIAS, true});
        layers.push_back({"fc1", tokens, 4 * c, c, CUBLASLT_EPILOGUE_GELU_BIAS, false});
        layers.push_back({"fc2", tokens, c, 4 * c, CUBLASLT_EPILOGUE_BIAS, true});
        if (s < 3) layers.push_back({"merge", tokens / 4, 2 * c, 4 * c, CUBLASLT_EPILOGUE_DEFAULT, false});
    }
    layers.push_back({"head", batch, 1000, 768, CUBLASLT_EPILOGUE_BIAS, false});

    cublasLtHandle_t handle;
    CHECK_LT(cublasLtCreate(&handle));
    const size_t workspaceBytes = 32u << 20;
    void* workspace;
    CHECK_CUDA(cudaMalloc(&workspace, workspaceBytes));
    float* total;
    CHECK_CUDA(cudaMalloc(&total, sizeof(float)));
    CHECK_CUDA(cudaMemset(total, 0, sizeof(float)));

    std::vector<std::pair<__half*, long>> outputs;
    for (const Layer& l : layers) {
        __half* x = filled(l.m * l.k, 1.0f);
        __half* w = filled((long)l.n * l.k, 0.05f);
        __half* bias = filled(l.n, 0.1f);
        __half* residual = l.residual ? filled(l.m * l.n, 1.0f) : nullptr;
        __half* y;
        CHECK_CUDA(cudaMalloc(&y, l.m * l.n * sizeof(__half)));

        cublasLtMatmulDesc_t op;
        CHECK_LT(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
        cublasOperation_t transA = CUBLAS_OP_T, transB = CUBLAS_OP_N;
        CHECK_LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &transA, sizeof(transA)));
        CHECK_LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &transB, sizeof(transB)));
        cublasLtEpilogue_t epilogue = l.epilogue;
        CHECK_LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)));
        if (epilogue != CUBLASLT_EPILOGUE_DEFAULT)
            CHECK_LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
        cublasLtMatrixLayout_t a, b, d;
        CHECK_LT(cublasLtMatrixLayoutCreate(&a, CUDA_R_16F, l.k, l.n, l.k));
        CHECK_LT(cublasLtMatrixLayoutCreate(&b, CUDA_R_16F, l.k, l.m, l.k));
        CHECK_LT(cublasLtMatrixLayoutCreate(&d, CUDA_R_16F, l.n, l.m, l.n));
        cublasLtMatmulPreference_t pref;
        CHECK_LT(cublasLtMatmulPreferenceCreate(&pref));
        CHECK_LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspaceBytes, sizeof(workspaceBytes)));
        cublasLtMatmulHeuristicResult_t result;
        int count = 0;
        CHECK_LT(cublasLtMatmulAlgoGetHeuristic(handle, op, a, b, d, d, pref, 1, &result, &count));
        if (count == 0) { std::fprintf(stderr, "%s: no algorithm\n", l.name); return 1; }
        float alpha = 1, beta = l.residual ? 1 : 0;
        CHECK_LT(cublasLtMatmul(handle, op, &alpha, w, a, x, b, &beta, l.residual ? residual : y, d, y, d, &result.algo,
                                workspace, workspaceBytes, 0));
        std::printf("%-5s M=%-6ld N=%-4d K=%-4d epilogue %d%s\n", l.name, l.m, l.n, l.k, (int)l.epilogue, l.residual ? " + residual" : "");
        outputs.push_back({y, l.m * l.n});
        cublasLtMatmulPreferenceDestroy(pref);
        cublasLtMatrixLayoutDestroy(d);
        cublasLtMatrixLayoutDestroy(b);
        cublasLtMatrixLayoutDestroy(a);
        cublasLtMatmulDescDestroy(op);
    }
    for (auto& [y, n] : outputs) sum<<<256, 256>>>(y, n, total);  // reads of cuBLASLt's outputs
    __half* control = filled(1 << 20, 1.0f);
    sum<<<256, 256>>>(control, 1 << 20, total);                     // reads of an elementwise kernel's output
    CHECK_CUDA(cudaDeviceSynchronize());
    float host;
    CHECK_CUDA(cudaMemcpy(&host, total, sizeof(float), cudaMemcpyDeviceToHost));
    std::printf("ran %zu products at batch %d (checksum %g)\n", layers.size(), batch, host);
    cublasLtDestroy(handle);
    return 0;
}
