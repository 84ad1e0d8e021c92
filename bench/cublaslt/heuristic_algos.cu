// How much cuBLASLt's first heuristic answer leaves on the table at Swin-T's Linear shapes: for each shape (fp16 in and out,
// fp32 accumulate, Fusion's "TN" layout D[N,M] = W[N,K]ᵀ-as-column-major · X, the bias or GELU+bias epilogue Fusion asks for)
// it requests up to 16 algorithms from cublasLtMatmulAlgoGetHeuristic, times each (CUDA events, 5 warm-ups, median of 20) and
// prints the first answer's time, the best one's and its index, then the sums over the model (each shape times its count).
// Build: nvcc -O2 -arch=sm_90 -o heuristic_algos heuristic_algos.cu -lcublasLt ; run: ./heuristic_algos BATCH...
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("cuda %s at %d\n", cudaGetErrorString(e), __LINE__); exit(1); } } while (0)
#define LT(x) do { cublasStatus_t s = (x); if (s != CUBLAS_STATUS_SUCCESS) { printf("cublasLt status %d at %d\n", (int)s, __LINE__); exit(1); } } while (0)

struct Shape { const char* name; int tokens; int n, k; bool gelu; int count; };

// Swin-T: tokens per image, N, K, GELU epilogue, how many times one pass runs it.
static const Shape kShapes[] = {
    {"s1.qkv", 3136, 288, 96, false, 2}, {"s1.proj", 3136, 96, 96, false, 2}, {"s1.fc1", 3136, 384, 96, true, 2}, {"s1.fc2", 3136, 96, 384, false, 2},
    {"pm1.red", 784, 192, 384, false, 1},
    {"s2.qkv", 784, 576, 192, false, 2}, {"s2.proj", 784, 192, 192, false, 2}, {"s2.fc1", 784, 768, 192, true, 2}, {"s2.fc2", 784, 192, 768, false, 2},
    {"pm2.red", 196, 384, 768, false, 1},
    {"s3.qkv", 196, 1152, 384, false, 6}, {"s3.proj", 196, 384, 384, false, 6}, {"s3.fc1", 196, 1536, 384, true, 6}, {"s3.fc2", 196, 384, 1536, false, 6},
    {"pm3.red", 49, 768, 1536, false, 1},
    {"s4.qkv", 49, 2304, 768, false, 2}, {"s4.proj", 49, 768, 768, false, 2}, {"s4.fc1", 49, 3072, 768, true, 2}, {"s4.fc2", 49, 768, 3072, false, 2},
    {"head", 1, 1000, 768, false, 1},
};

static cublasLtHandle_t handle;
static void* workspace;
static const size_t wsBytes = 32 << 20;

static float TimeOne(cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t la, cublasLtMatrixLayout_t lb, cublasLtMatrixLayout_t ld,
                     const cublasLtMatmulAlgo_t* algo, void* w, void* x, void* y)
{
    float alpha = 1, beta = 0;
    cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    std::vector<float> times;
    for (int i = 0; i < 25; i++) {
        CK(cudaEventRecord(e0));
        cublasStatus_t s = cublasLtMatmul(handle, op, &alpha, w, la, x, lb, &beta, y, ld, y, ld, algo, workspace, wsBytes, 0);
        CK(cudaEventRecord(e1));
        if (s != CUBLAS_STATUS_SUCCESS) { cudaEventDestroy(e0); cudaEventDestroy(e1); return -1; }
        CK(cudaEventSynchronize(e1));
        float ms; CK(cudaEventElapsedTime(&ms, e0, e1));
        if (i >= 5) times.push_back(ms * 1000);
    }
    cudaEventDestroy(e0); cudaEventDestroy(e1);
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

int main(int argc, char** argv)
{
    LT(cublasLtCreate(&handle));
    CK(cudaMalloc(&workspace, wsBytes));
    printf("cuBLASLt %zu\n", cublasLtGetVersion());
    for (int a = 1; a < argc; a++) {
        int batch = atoi(argv[a]);
        double firstSum = 0, bestSum = 0;
        printf("batch %d\n%-8s %7s %5s %5s %6s %9s %9s %5s %s\n", batch, "shape", "M", "N", "K", "algos", "first_us", "best_us", "best", "first÷best");
        for (const Shape& s : kShapes) {
            long m = (long)batch * s.tokens;
            int n = s.n, k = s.k;
            void *w, *x, *y, *bias;
            CK(cudaMalloc(&w, (size_t)n * k * 2)); CK(cudaMalloc(&x, (size_t)m * k * 2)); CK(cudaMalloc(&y, (size_t)m * n * 2)); CK(cudaMalloc(&bias, (size_t)n * 2));
            CK(cudaMemset(w, 0x2a, (size_t)n * k * 2)); CK(cudaMemset(x, 0x2a, (size_t)m * k * 2)); CK(cudaMemset(bias, 0, (size_t)n * 2));
            cublasLtMatmulDesc_t op; cublasLtMatrixLayout_t la, lb, ld;
            LT(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
            cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
            LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
            LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof nn));
            cublasLtEpilogue_t epi = s.gelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
            LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
            LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
            LT(cublasLtMatrixLayoutCreate(&la, CUDA_R_16F, k, n, k));
            LT(cublasLtMatrixLayoutCreate(&lb, CUDA_R_16F, k, m, k));
            LT(cublasLtMatrixLayoutCreate(&ld, CUDA_R_16F, n, m, n));
            cublasLtMatmulPreference_t pref; LT(cublasLtMatmulPreferenceCreate(&pref));
            size_t ws = wsBytes;
            LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
            cublasLtMatmulHeuristicResult_t results[16]; int count = 0;
            LT(cublasLtMatmulAlgoGetHeuristic(handle, op, la, lb, ld, ld, pref, 16, results, &count));
            float first = -1, best = 1e30f; int bestIndex = -1;
            for (int i = 0; i < count; i++) {
                float us = TimeOne(op, la, lb, ld, &results[i].algo, w, x, y);
                if (i == 0) first = us;
                if (us > 0 && us < best) { best = us; bestIndex = i; }
            }
            printf("%-8s %7ld %5d %5d %6d %9.2f %9.2f %5d %.2f\n", s.name, m, n, k, count, first, best, bestIndex, first / best);
            firstSum += first * s.count; bestSum += best * s.count;
            cublasLtMatmulPreferenceDestroy(pref); cublasLtMatrixLayoutDestroy(la); cublasLtMatrixLayoutDestroy(lb); cublasLtMatrixLayoutDestroy(ld);
            cublasLtMatmulDescDestroy(op);
            cudaFree(w); cudaFree(x); cudaFree(y); cudaFree(bias);
        }
        printf("batch %d: sum over one pass's Linears (shape × count): first answer %.1f us, best of the heuristic's list %.1f us (%.2fx)\n",
               batch, firstSum, bestSum, firstSum / bestSum);
    }
    return 0;
}
