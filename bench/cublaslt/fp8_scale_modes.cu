// Whether cuBLASLt's FP8 product takes per-channel weight scales on this GPU (the "outer vector" scale mode,
// CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F), with the epilogues and outputs Fusion's Fp8 plan uses, and at what cost.
// Fusion's layout: D[N,M] (column-major) = A[K,N]ᵀ·B[K,M] with A the weight [N,K] row-major ("TN"). An outer-vector scale of A
// is one float per row of op(A), i.e. per output channel; of B one per column of op(B), i.e. per token.
// For each configuration: the status of the heuristic and of the product, the largest error against a float64 reference of the
// codes (exact products, so the reference is D = Σ a·b · sa[n] · sb[m] + bias), and the median time (CUDA events, 5 warm-ups, 20).
// Build: nvcc -O2 -arch=sm_90 -o fp8_scale_modes fp8_scale_modes.cu -lcublasLt ; run: ./fp8_scale_modes
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("cuda %s at %d\n", cudaGetErrorString(e), __LINE__); exit(1); } } while (0)

struct Config { const char* name; bool aVector, bVector; cublasLtEpilogue_t epi; bool fp8Out; };

static float Rand(unsigned& s) { s = s * 1664525u + 1013904223u; return ((s >> 8) & 0xFFFF) / 32768.0f - 1.0f; }

int main()
{
    cublasLtHandle_t handle; cublasLtCreate(&handle);
    printf("cuBLASLt %zu; A_SCALE_MODE attribute %d, B_SCALE_MODE %d, OUTER_VEC_32F %d\n", cublasLtGetVersion(),
           (int)CUBLASLT_MATMUL_DESC_A_SCALE_MODE, (int)CUBLASLT_MATMUL_DESC_B_SCALE_MODE, (int)CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F);
    const size_t wsBytes = 32 << 20; void* ws; CK(cudaMalloc(&ws, wsBytes));
    const Config configs[] = {
        {"scalar A, scalar B, f16+bias", false, false, CUBLASLT_EPILOGUE_BIAS, false},
        {"vector A, scalar B, f16+bias", true, false, CUBLASLT_EPILOGUE_BIAS, false},
        {"vector A, vector B, f16+bias", true, true, CUBLASLT_EPILOGUE_BIAS, false},
        {"vector A, scalar B, f16", true, false, CUBLASLT_EPILOGUE_DEFAULT, false},
        {"vector A, scalar B, f16+gelu+bias", true, false, CUBLASLT_EPILOGUE_GELU_BIAS, false},
        {"vector A, scalar B, e4m3+gelu+bias", true, false, CUBLASLT_EPILOGUE_GELU_BIAS, true},
        {"scalar A, scalar B, e4m3+gelu+bias", false, false, CUBLASLT_EPILOGUE_GELU_BIAS, true},
    };
    const int shapes[][3] = {{6272, 3072, 768}, {50176, 192, 768}, {200704, 384, 96}};
    for (auto& sh : shapes) {
        const int m = sh[0], n = sh[1], k = sh[2];
        unsigned seed = 12345;
        std::vector<__nv_fp8_e4m3> a((size_t)n * k), b((size_t)m * k);
        for (auto& v : a) v = __nv_fp8_e4m3(Rand(seed) * 4);
        for (auto& v : b) v = __nv_fp8_e4m3(Rand(seed) * 4);
        std::vector<float> sa(n), sb(m); std::vector<__half> bias(n);
        for (auto& v : sa) v = 0.001f * (1 + 0.5f * Rand(seed));
        for (auto& v : sb) v = 0.5f * (1 + 0.5f * Rand(seed));
        for (auto& v : bias) v = __float2half(Rand(seed));
        void *da, *db, *dd, *dbias; float *dsa, *dsb, *dsd, *dsaScalar, *dsbScalar;
        CK(cudaMalloc(&da, a.size())); CK(cudaMalloc(&db, b.size())); CK(cudaMalloc(&dd, (size_t)m * n * 2)); CK(cudaMalloc(&dbias, n * 2));
        CK(cudaMalloc(&dsa, n * 4)); CK(cudaMalloc(&dsb, m * 4)); CK(cudaMalloc(&dsd, 4)); CK(cudaMalloc(&dsaScalar, 4)); CK(cudaMalloc(&dsbScalar, 4));
        CK(cudaMemcpy(da, a.data(), a.size(), cudaMemcpyHostToDevice)); CK(cudaMemcpy(db, b.data(), b.size(), cudaMemcpyHostToDevice));
        CK(cudaMemcpy(dsa, sa.data(), n * 4, cudaMemcpyHostToDevice)); CK(cudaMemcpy(dsb, sb.data(), m * 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(dbias, bias.data(), n * 2, cudaMemcpyHostToDevice));
        float one = 1, dscale = 4.0f; CK(cudaMemcpy(dsd, &dscale, 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(dsaScalar, &sa[0], 4, cudaMemcpyHostToDevice)); CK(cudaMemcpy(dsbScalar, &sb[0], 4, cudaMemcpyHostToDevice));
        (void)one;
        printf("M=%d N=%d K=%d\n", m, n, k);
        for (const Config& c : configs) {
            cublasLtMatmulDesc_t op; cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
            cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t);
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof nn);
            if (c.epi != CUBLASLT_EPILOGUE_DEFAULT) {
                cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &c.epi, sizeof c.epi);
                cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &dbias, sizeof dbias);
                cudaDataType_t bt = CUDA_R_16F;
                cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt);
            }
            cublasLtMatmulMatrixScale_t vec = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
            int s1 = 0, s2 = 0;
            if (c.aVector) s1 = cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &vec, sizeof vec);
            if (c.bVector) s2 = cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &vec, sizeof vec);
            void* pa = c.aVector ? (void*)dsa : (void*)dsaScalar;
            void* pb = c.bVector ? (void*)dsb : (void*)dsbScalar;
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &pa, sizeof pa);
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &pb, sizeof pb);
            if (c.fp8Out) cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_D_SCALE_POINTER, &dsd, sizeof dsd);
            cublasLtMatrixLayout_t la, lb, lc, ld;
            cublasLtMatrixLayoutCreate(&la, CUDA_R_8F_E4M3, k, n, k);
            cublasLtMatrixLayoutCreate(&lb, CUDA_R_8F_E4M3, k, m, k);
            cublasLtMatrixLayoutCreate(&lc, CUDA_R_16F, n, m, n);
            cublasLtMatrixLayoutCreate(&ld, c.fp8Out ? CUDA_R_8F_E4M3 : CUDA_R_16F, n, m, n);
            cublasLtMatmulPreference_t pref; cublasLtMatmulPreferenceCreate(&pref);
            size_t wsb = wsBytes; cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsb, sizeof wsb);
            cublasLtMatmulHeuristicResult_t res[8]; int count = 0;
            cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(handle, op, la, lb, lc, ld, pref, 8, res, &count);
            printf("  %-36s mode set %d/%d heuristic %d (%d algos)", c.name, s1, s2, (int)hs, count);
            if (hs == CUBLAS_STATUS_SUCCESS && count > 0) {
                float alpha = 1, beta = 0;
                void* cptr = c.fp8Out ? db : dd; // C unread (beta 0); for an E4M3 D, C (f16) must not alias D
                cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
                std::vector<float> times; cublasStatus_t rs = CUBLAS_STATUS_SUCCESS;
                for (int i = 0; i < 25 && rs == CUBLAS_STATUS_SUCCESS; i++) {
                    cudaEventRecord(e0);
                    rs = cublasLtMatmul(handle, op, &alpha, da, la, db, lb, &beta, cptr, lc, dd, ld, &res[0].algo, ws, wsBytes, 0);
                    cudaEventRecord(e1); cudaEventSynchronize(e1);
                    float ms; cudaEventElapsedTime(&ms, e0, e1); if (i >= 5) times.push_back(ms * 1000);
                }
                CK(cudaDeviceSynchronize());
                if (rs != CUBLAS_STATUS_SUCCESS) { printf(" matmul status %d\n", (int)rs); }
                else {
                    std::sort(times.begin(), times.end());
                    // Check 64 sampled outputs against the float64 reference.
                    double worst = 0;
                    std::vector<unsigned char> out((size_t)m * n * 2);
                    CK(cudaMemcpy(out.data(), dd, out.size() / (c.fp8Out ? 2 : 1), cudaMemcpyDeviceToHost));
                    for (int sample = 0; sample < 64; sample++) {
                        int i = (sample * 7919) % m, j = (sample * 104729) % n;
                        double acc = 0;
                        for (int p = 0; p < k; p++) acc += (double)(float)a[(size_t)j * k + p] * (double)(float)b[(size_t)i * k + p];
                        acc *= (double)(c.aVector ? sa[j] : sa[0]) * (double)(c.bVector ? sb[i] : sb[0]);
                        if (c.epi != CUBLASLT_EPILOGUE_DEFAULT) acc += (double)__half2float(bias[j]);
                        if (c.epi == CUBLASLT_EPILOGUE_GELU_BIAS) acc = 0.5 * acc * (1 + tanh(0.7978845608 * (acc + 0.044715 * acc * acc * acc)));
                        double got;
                        if (c.fp8Out) { __nv_fp8_e4m3 q; q.__x = out[(size_t)i * n + j]; got = (double)(float)q / dscale; }
                        else { __half h; memcpy(&h, &out[((size_t)i * n + j) * 2], 2); got = __half2float(h); }
                        worst = std::max(worst, fabs(got - acc) / (1e-2 + fabs(acc)));
                    }
                    printf(" median %.2f us, worst |d|/(0.01+|ref|) %.3g\n", times[times.size() / 2], worst);
                }
                cudaEventDestroy(e0); cudaEventDestroy(e1);
            } else printf("\n");
            cublasLtMatmulPreferenceDestroy(pref); cublasLtMatrixLayoutDestroy(la); cublasLtMatrixLayoutDestroy(lb);
            cublasLtMatrixLayoutDestroy(lc); cublasLtMatrixLayoutDestroy(ld); cublasLtMatmulDescDestroy(op);
        }
        cudaFree(da); cudaFree(db); cudaFree(dd); cudaFree(dbias); cudaFree(dsa); cudaFree(dsb); cudaFree(dsd); cudaFree(dsaScalar); cudaFree(dsbScalar);
    }
    return 0;
}
