// The int8 plan's requantizing GELU GEMMs (Swin-T's fc1 at batch 64: dequantize · bias · GELU · requantize to int8) in the
// variants bench/cuda/int8_epilogue_probe.py writes into the current folder, compiled with NVRTC as Fusion does (the default thin
// tile, 128 × 96, 256 threads), against cuBLASLt's fp16 GEMM with its GELU + bias epilogue on the same shape (what the fp16 plan
// runs there). Each variant's int8 codes are compared with the ref variant's: mismatches and the largest difference in codes.
// Operands: int8 codes uniform in [-127, 127] (x [M, K], w [N, K]), per-channel scales making the dequantized sums about N(0, 2²),
// a bias in [-0.5, 0.5), an output multiplier of 127 / 6. Timing: CUDA events around each launch, 3 warm-ups, median of 20.
// Built and run by int8_epilogue_probe.sh.
#include <cublasLt.h>
#include <cuda_fp16.h>
#include <cmath>
#include <fstream>

#include "gemm_harness_data.cuh"
#include "probe_common.cuh"

__global__ void fill_float(float* p, int n, float lo, float hi, unsigned seed)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        p[i] = lo + (hi - lo) * (hash(i, seed) >> 8) / 16777216.0f;
}

__global__ void code_diff(const signed char* a, const signed char* b, long long n, unsigned long long* count, int* worst)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        if (a[i] != b[i])
        {
            atomicAdd(count, 1ull);
            atomicMax(worst, abs((int)a[i] - (int)b[i]));
        }
}

int main()
{
    struct Shape { std::string tag; int m, n, k; };
    // Swin-T's fc1 at batch 64, stage by stage.
    const std::vector<Shape> shapes = {{"n384_k96", 200704, 384, 96}, {"n768_k192", 50176, 768, 192}, {"n1536_k384", 12544, 1536, 384}, {"n3072_k768", 3136, 3072, 768}};
    const std::vector<std::string> order = {"ref", "pairs", "fold", "tanh", "quad", "quadfold", "quadtanh", "quadh2", "quadbare", "f2i", "magic", "f2imagic", "all", "allf2i", "mb4", "quadtanhmb4", "persist", "persisttanh", "persisth2", "persistbare"};
    ProbeSetup p;
    unsigned long long* count = p.count;
    int* worst; CK(cudaMalloc(&worst, 4));
    printf("| shape (M × N × K) | variant | regs | µs (median of 20) | GB/s (x + codes out) | codes ≠ ref | largest difference |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for (auto& s : shapes)
    {
        signed char *x, *w, *ref, *out;
        float *scale, *bias, *os;
        const long long outN = (long long)s.m * s.n;
        CK(cudaMalloc(&x, (size_t)s.m * s.k)); CK(cudaMalloc(&w, (size_t)s.n * s.k));
        CK(cudaMalloc(&ref, outN + 4096)); CK(cudaMalloc(&out, outN + 4096));
        CK(cudaMalloc(&scale, s.n * 4)); CK(cudaMalloc(&bias, s.n * 4)); CK(cudaMalloc(&os, 4));
        fill<<<1024, 256>>>(x, (long long)s.m * s.k, 1, 1);
        fill<<<1024, 256>>>(w, (long long)s.n * s.k, 1, 2);
        const float sc = 2.0f / (5418.7f * std::sqrt((float)s.k));
        fill_float<<<64, 256>>>(scale, s.n, 0.8f * sc, 1.2f * sc, 3);
        fill_float<<<64, 256>>>(bias, s.n, -0.5f, 0.5f, 4);
        fill_float<<<1, 1>>>(os, 1, 127.0f / 6.0f, 127.0f / 6.0f, 5);
        CK(cudaDeviceSynchronize());
        int m = s.m, batch = s.m / 3136 > 0 ? s.m / 3136 : 1;
        const unsigned grid = (unsigned)(((s.m + 127) / 128) * ((s.n + 95) / 96));
        bool first = true;
        for (auto& v : order)
        {
            std::string file = s.tag + "_" + v + ".cu";
            if (!std::ifstream(file)) continue;
            Binary b = nvrtc(file);
            CUmodule module; CUfunction f; int regs;
            CD(cuModuleLoadData(&module, b.cubin.data()));
            CD(cuModuleGetFunction(&f, module, kernelName(file).c_str()));
            CD(cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, f));
            signed char* dst = first ? ref : out;
            std::vector<void*> args = {&x, &w, &m, &batch, &scale, &bias, &os, &dst};
            // The persistent variants (bench/cuda/persistent_gemm.cut): w's slab and each warp's buffers in dynamic shared
            // memory, as many blocks as fit the SMs (a multiple of the slabs).
            unsigned g = grid, smem = 0;
            if (v.rfind("persist", 0) == 0)
            {
                persist_launch(f, p.prop.multiProcessorCount, s.n, s.k, 384, g, smem);
                fprintf(stderr, "== %s: %u blocks, %u bytes of shared memory a block\n", file.c_str(), g, smem);
            }
            CK(cudaMemset(dst, 0x55, outN + 4096));
            CD(cuLaunchKernel(f, g, 1, 1, 256, 1, 1, smem, 0, args.data(), nullptr));
            CK(cudaDeviceSynchronize());
            unsigned long long mism = 0; int big = 0;
            if (!first)
            {
                CK(cudaMemset(count, 0, 8)); CK(cudaMemset(worst, 0, 4));
                code_diff<<<1024, 256>>>(ref, out, outN + 4096, count, worst);
                CK(cudaMemcpy(&mism, count, 8, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(&big, worst, 4, cudaMemcpyDeviceToHost));
            }
            const double us = median_launch_us(f, g, 256, args.data(), 3, 20, smem);
            const double gb = ((double)s.m * s.k + outN) / (us * 1e3);
            printf("| %d × %d × %d | %s | %d | %.1f | %.0f | %s%llu (%.4f %%) | %d |\n", s.m, s.n, s.k, v.c_str(), regs, us, gb, first ? "(ref) " : "", mism,
                   100.0 * mism / outN, big);
            fflush(stdout);
            fprintf(stderr, "== %s\n%s\n", file.c_str(), b.log.c_str());
            CD(cuModuleUnload(module));
            first = false;
        }
        const double cu = cublas_epilogue_us(p.lt, s.m, s.n, s.k, CUBLASLT_EPILOGUE_GELU_BIAS, p.workspace, p.workspaceBytes);
        printf("| %d × %d × %d | cuBLASLt fp16 GELU + bias | | %.1f | %.0f (fp16 x + out) | | |\n", s.m, s.n, s.k, cu, ((double)s.m * s.k + outN) * 2 / (cu * 1e3));
        fflush(stdout);
        cudaFree(x); cudaFree(w); cudaFree(ref); cudaFree(out); cudaFree(scale); cudaFree(bias); cudaFree(os);
    }
    return 0;
}
