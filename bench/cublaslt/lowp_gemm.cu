// Which low-precision products cuBLASLt offers on this GPU for Fusion's Linear layout, and how fast they are against fp16.
// Fusion computes Y[M,N] = X[M,K]·W[N,K]ᵀ row-major as the column-major D[N,M] = Aᵀ·B with A = W (K×N, transposed: "TN"),
// B = X (K×M). For each Swin-T GEMM shape at one batch this tries, through the heuristic, then times (CUDA events, 5 warm-ups,
// median of 20):
//   f16      fp16 in, fp16 out, fp32 accumulate, bias epilogue (what Fusion runs today)
//   s8>s32   int8 in, int32 out (COMPUTE_32I, scale 32I): the exact product, dequantized by a later kernel
//   s8>s8    int8 in, int8 out, one float alpha (COMPUTE_32I, scale 32F): requantized in the product
//   s8>s8/ch int8 in, int8 out, alpha a device vector over N (per-output-channel dequantize·requantize)
//   s8>f16   int8 in, fp16 out (expected: not offered)
//   s8>f32   int8 in, fp32 out, scale 32F (expected: not offered)
//   e4m3>f16 FP8 E4M3 in, fp16 out, per-tensor A/B scales, bias epilogue
//   e4m3>f16+gelu  the same with the GELU+bias epilogue
//   e4m3>e4m3 FP8 in and out (D scale)
//   e4m3>e4m3+gelu the same with the GELU+bias epilogue (the Fp8 plan's fc1, whose output is fc2's quantized input)
// Build: nvcc -O2 -arch=sm_90 -o lowp_gemm lowp_gemm.cu -lcublasLt ; run: ./lowp_gemm [batch]
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <algorithm>
#include <string>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("cuda %s at %d\n", cudaGetErrorString(e), __LINE__); exit(1); } } while (0)

struct Config { const char* name; cudaDataType_t ab, cd; cublasComputeType_t compute; cudaDataType_t scale; cublasLtEpilogue_t epi; bool vectorAlpha, fp8Scales; };

static cublasLtHandle_t handle;
static void* workspace; static const size_t wsBytes = 32 << 20;
static int8_t fastAccum = 0; // `lowp_gemm BATCH fast`: FP8 products accumulate without cuBLASLt's periodic promotion to fp32

// Returns the median time in µs, or a negative status when the product is not offered.
static double Try(const Config& c, long m, int n, int k, void* a, void* b, void* d, void* bias, float* alphaVec, float* scales, int* status)
{
    cublasLtMatmulDesc_t op; cublasLtMatrixLayout_t la, lb, ld;
    cublasLtMatmulDescCreate(&op, c.compute, c.scale);
    cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t);
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof nn);
    if (c.epi != CUBLASLT_EPILOGUE_DEFAULT) {
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &c.epi, sizeof c.epi);
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
        cudaDataType_t bt = CUDA_R_16F;
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt);
    }
    if (c.vectorAlpha) {
        cublasLtPointerMode_t pm = CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO;
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_POINTER_MODE, &pm, sizeof pm);
    }
    if (c.fp8Scales) {
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fastAccum, sizeof fastAccum);
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &scales, sizeof scales);
        float* sb = scales + 64; // each scale 256 bytes apart: cuBLASLt refuses scale pointers that are not aligned (4 bytes apart: status 15)
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &sb, sizeof sb);
        if (c.cd == CUDA_R_8F_E4M3) { float* sd = scales + 128; cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_D_SCALE_POINTER, &sd, sizeof sd); }
    }
    cublasLtMatrixLayoutCreate(&la, c.ab, k, n, k);
    cublasLtMatrixLayoutCreate(&lb, c.ab, k, m, k);
    // FP8 with an fp8 D needs C in fp16 (or bf16); everything else: C as D.
    cublasLtMatrixLayout_t lc; cudaDataType_t ct = (c.cd == CUDA_R_8F_E4M3) ? CUDA_R_16F : c.cd;
    cublasLtMatrixLayoutCreate(&lc, ct, n, m, n);
    cublasLtMatrixLayoutCreate(&ld, c.cd, n, m, n);
    cublasLtMatmulPreference_t pref; cublasLtMatmulPreferenceCreate(&pref);
    size_t ws = wsBytes; cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    cublasLtMatmulHeuristicResult_t r; int count = 0;
    cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(handle, op, la, lb, lc, ld, pref, 1, &r, &count);
    double result = -1;
    *status = (int)s;
    if (s == CUBLAS_STATUS_SUCCESS && count > 0) {
        float alphaF = 1, betaF = 0; int alphaI = 1, betaI = 0;
        const void* alpha = c.vectorAlpha ? (const void*)alphaVec : (c.scale == CUDA_R_32I ? (const void*)&alphaI : (const void*)&alphaF);
        const void* beta = c.scale == CUDA_R_32I ? (const void*)&betaI : (const void*)&betaF;
        cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
        std::vector<float> times;
        for (int i = 0; i < 25; i++) {
            cudaEventRecord(e0);
            // C = D is in place, which cuBLASLt takes only when their types agree; an E4M3 D reads no C (beta 0) from b's memory.
            s = cublasLtMatmul(handle, op, alpha, a, la, b, lb, beta, c.cd == CUDA_R_8F_E4M3 ? b : d, lc, d, ld, &r.algo, workspace, wsBytes, 0);
            cudaEventRecord(e1); cudaEventSynchronize(e1);
            if (s != CUBLAS_STATUS_SUCCESS) { *status = (int)s; break; }
            float ms; cudaEventElapsedTime(&ms, e0, e1); if (i >= 5) times.push_back(ms * 1000);
        }
        if (s == CUBLAS_STATUS_SUCCESS) { std::sort(times.begin(), times.end()); result = times[times.size() / 2]; }
        cudaEventDestroy(e0); cudaEventDestroy(e1);
    } else if (s == CUBLAS_STATUS_SUCCESS) *status = -1; // no algorithm
    CK(cudaGetLastError());
    cublasLtMatmulPreferenceDestroy(pref); cublasLtMatrixLayoutDestroy(la); cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(lc); cublasLtMatrixLayoutDestroy(ld); cublasLtMatmulDescDestroy(op);
    return result;
}

int main(int argc, char** argv)
{
    int batch = argc > 1 ? atoi(argv[1]) : 64;
    if (argc > 2 && strcmp(argv[2], "fast") == 0) fastAccum = 1;
    cublasLtCreate(&handle);
    CK(cudaMalloc(&workspace, wsBytes));
    // Swin-T's Linear shapes per stage: tokens per image, C; qkv (3C), proj (C), fc1 (4C), fc2 (C from 4C), patch merging (2C from 4C).
    struct Shape { const char* name; long tokens; int n, k; };
    std::vector<Shape> shapes;
    const int dims[4] = {96, 192, 384, 768}; const long tokens[4] = {3136, 784, 196, 49};
    for (int s = 0; s < 4; s++) {
        int c = dims[s];
        shapes.push_back({"qkv", tokens[s], 3 * c, c});
        shapes.push_back({"proj", tokens[s], c, c});
        shapes.push_back({"fc1", tokens[s], 4 * c, c});
        shapes.push_back({"fc2", tokens[s], c, 4 * c});
        if (s < 3) shapes.push_back({"merge", tokens[s + 1], 2 * c, 4 * c});
    }
    Config configs[] = {
        {"f16", CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUBLASLT_EPILOGUE_BIAS, false, false},
        {"s8>s32", CUDA_R_8I, CUDA_R_32I, CUBLAS_COMPUTE_32I, CUDA_R_32I, CUBLASLT_EPILOGUE_DEFAULT, false, false},
        {"s8>s8", CUDA_R_8I, CUDA_R_8I, CUBLAS_COMPUTE_32I, CUDA_R_32F, CUBLASLT_EPILOGUE_DEFAULT, false, false},
        {"s8>s8/ch", CUDA_R_8I, CUDA_R_8I, CUBLAS_COMPUTE_32I, CUDA_R_32F, CUBLASLT_EPILOGUE_DEFAULT, true, false},
        {"s8>s32/ch", CUDA_R_8I, CUDA_R_32I, CUBLAS_COMPUTE_32I, CUDA_R_32F, CUBLASLT_EPILOGUE_DEFAULT, true, false},
        {"s8>f16", CUDA_R_8I, CUDA_R_16F, CUBLAS_COMPUTE_32I, CUDA_R_32F, CUBLASLT_EPILOGUE_DEFAULT, false, false},
        {"s8>f32", CUDA_R_8I, CUDA_R_32F, CUBLAS_COMPUTE_32I, CUDA_R_32F, CUBLASLT_EPILOGUE_DEFAULT, false, false},
        {"s8>s8+bias", CUDA_R_8I, CUDA_R_8I, CUBLAS_COMPUTE_32I, CUDA_R_32F, CUBLASLT_EPILOGUE_BIAS, false, false},
        {"e4m3>f16", CUDA_R_8F_E4M3, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUBLASLT_EPILOGUE_BIAS, false, true},
        {"e4m3>f16+gelu", CUDA_R_8F_E4M3, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUBLASLT_EPILOGUE_GELU_BIAS, false, true},
        {"e4m3>e4m3", CUDA_R_8F_E4M3, CUDA_R_8F_E4M3, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUBLASLT_EPILOGUE_BIAS, false, true},
        {"e4m3>e4m3+gelu", CUDA_R_8F_E4M3, CUDA_R_8F_E4M3, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUBLASLT_EPILOGUE_GELU_BIAS, false, true},
    };
    const int nc = sizeof configs / sizeof configs[0];
    long maxM = 3136L * batch; size_t maxElems = (size_t)maxM * 3072;
    void *a, *b, *d, *bias; float *alphaVec, *scales;
    CK(cudaMalloc(&a, 768 * 3072 * 2)); CK(cudaMalloc(&b, maxElems * 2)); CK(cudaMalloc(&d, maxElems * 4));
    CK(cudaMalloc(&bias, 3072 * 4)); CK(cudaMalloc(&alphaVec, 3072 * 4)); CK(cudaMalloc(&scales, 1024));
    CK(cudaMemset(a, 0, 768 * 3072 * 2)); CK(cudaMemset(b, 0, maxElems * 2)); CK(cudaMemset(bias, 0, 3072 * 4));
    std::vector<float> ones(3072, 0.01f); CK(cudaMemcpy(alphaVec, ones.data(), 3072 * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(scales, ones.data(), 1024, cudaMemcpyHostToDevice));
    int version = (int)cublasLtGetVersion();
    printf("cuBLASLt %d, batch %d%s; µs, median of 20 (status code where not offered)\n", version, batch, fastAccum ? ", FP8 fast accumulation" : "");
    printf("%-6s %8s %5s %5s", "gemm", "M", "N", "K");
    for (int i = 0; i < nc; i++) printf(" %14s", configs[i].name);
    printf("\n");
    std::vector<double> sums(nc, 0);
    for (auto& sh : shapes) {
        long m = sh.tokens * batch;
        printf("%-6s %8ld %5d %5d", sh.name, m, sh.n, sh.k);
        for (int i = 0; i < nc; i++) {
            int status; double us = Try(configs[i], m, sh.n, sh.k, a, b, d, bias, alphaVec, scales, &status);
            if (us >= 0) { printf(" %14.1f", us); sums[i] += us; } else { printf(" %14s", status == -1 ? "no-algo" : (std::string("st") + std::to_string(status)).c_str()); sums[i] = -1e30; }
        }
        printf("\n");
    }
    printf("%-27s", "sum (every shape offered)");
    for (int i = 0; i < nc; i++) if (sums[i] >= 0) printf(" %14.1f", sums[i]); else printf(" %14s", "-");
    printf("\n");
    return 0;
}
