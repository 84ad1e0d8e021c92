// Variants of the gemm template (src/Fusion.Kernels/Cuda/Templates/gemm.cut) on Swin-T's thin Linear shapes: compiles each kernel
// source in the current folder (written by bench/cuda/gemm_epilogue_variants.py) with NVRTC as Fusion does (--std=c++17, sm_90, the
// shipped headers in memory), runs it on random inputs in its default tile, checks its output (and 4096 poisoned halves past it) byte
// for byte against the first variant of the same kernel, and times it: CUDA events around each launch, 3 warm-ups, median of 20.
// Inputs: fp16 in [-1, 1), int8 codes in [-127, 127], per-column scales in [1e-3, 2e-3). Built and run by gemm_epilogue_variants.sh.
#include <cuda_fp16.h>
#include <algorithm>
#include <map>

#include "nvrtc_harness.cuh"
#include "gemm_harness_data.cuh"

struct Kernel { CUmodule module; CUfunction f; int regs; std::string log; };

static std::map<std::string, Binary> g_binaries;

static Kernel compile(const std::string& file, const std::string& name)
{
    auto at = g_binaries.find(file);
    if (at == g_binaries.end()) at = g_binaries.emplace(file, nvrtc(file)).first;
    const Binary& b = at->second;
    Kernel k; k.log = b.log;
    CD(cuModuleLoadData(&k.module, b.cubin.data()));
    CD(cuModuleGetFunction(&k.f, k.module, name.c_str()));
    CD(cuFuncGetAttribute(&k.regs, CU_FUNC_ATTRIBUTE_NUM_REGS, k.f));
    return k;
}

int main(int argc, char** argv)
{
    // The kernels (files TAG_VARIANT.cu), their shapes and which variants to try, in this order; a missing file is skipped and
    // the first present is the reference. kind: 0 bias (fp16: e1 bias, e2 out; int8: e1 scale, e2 bias, e3 out), 1 residual
    // (fp16: e1 residual, e2 out; int8: e1 scale, e2 residual, e3 out).
    struct Config { std::string tag; int m, n, k; bool s8; int kind; };
    std::vector<Config> configs = {
        {"h_qkv1", 200704, 288, 96, false, 0}, {"s_qkv1", 200704, 288, 96, true, 0},
        {"h_fc1_1", 200704, 384, 96, false, 0}, {"s_fc1_1", 200704, 384, 96, true, 0},
        {"h_fc2_1", 200704, 96, 384, false, 0}, {"s_fc2_1", 200704, 96, 384, true, 0},
        {"h_fc1_4", 3136, 3072, 768, false, 0}, {"s_fc1_4", 3136, 3072, 768, true, 0},
        {"h_odd", 1000, 37, 13, false, 1}, {"s_odd", 1000, 37, 13, true, 1},
        {"h_odd", 77, 37, 13, false, 1}, {"s_odd", 77, 37, 13, true, 1},
    };
    const std::vector<std::string> order = {"old", "new", "free", "lb4", "v4", "v8"};
    auto variants = [&](const Config& c) {
        std::vector<std::string> v;
        for (auto& name : order) if (std::ifstream(c.tag + "_" + name + ".cu")) v.push_back(name);
        return v;
    };
    CK(cudaFree(0));
    cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0));
    int nv_major, nv_minor; nvrtcVersion(&nv_major, &nv_minor);
    printf("device %s, %d SMs, NVRTC %d.%d\n", prop.name, prop.multiProcessorCount, nv_major, nv_minor);
    unsigned long long* count; CK(cudaMalloc(&count, 8));
    printf("| config | M | N | K | variant | regs | us (median of 20) | GB/s (x + out) | mismatches vs the first |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (auto& c : configs)
    {
        int esz = c.s8 ? 1 : 2;
        int bn = c.n <= 32 ? 32 : c.n <= 64 ? 64 : 96;
        GemmOperands ops(c.m, c.n, c.k, c.s8);
        int m = c.m, batch = c.m;
        void* e1p = c.s8 ? ops.scale : (c.kind == 0 ? ops.bias : ops.res);
        void* e2p = c.s8 ? (c.kind == 0 ? ops.bias : ops.res) : nullptr;
        unsigned grid = (unsigned)(((c.m + 127) / 128) * ((c.n + bn - 1) / bn));
        const auto names = variants(c);
        for (auto& v : names)
        {
            std::string file = c.tag + "_" + v + ".cu";
            Kernel k = compile(file, kernelName(file));
            void* dst = v == names[0] ? ops.ref : ops.out;
            std::vector<void*> args = {&ops.x, &ops.w, &m, &batch, &e1p};
            if (c.s8) args.push_back(&e2p);
            args.push_back(&dst);
            CK(cudaMemset(dst, 0xFF, (ops.outN + GemmOperands::kGuard) * 2));
            CD(cuLaunchKernel(k.f, grid, 1, 1, 256, 1, 1, 0, 0, args.data(), nullptr));
            CK(cudaDeviceSynchronize());
            unsigned long long mism = v != names[0] ? ops.mismatches(count) : 0;
            double us = median_launch_us(k.f, grid, 256, args.data(), 3, 20);
            double gb = ((double)c.m * c.k * esz + ops.outN * 2.0) / (us * 1e3);
            printf("| %s | %d | %d | %d | %s | %d | %.1f | %.0f | %s%llu |\n", c.tag.c_str(), c.m, c.n, c.k, v.c_str(), k.regs, us, gb, v == names[0] ? "(ref) " : "", mism);
            fflush(stdout);
            fprintf(stderr, "== %s\n%s\n", file.c_str(), k.log.c_str());
            CD(cuModuleUnload(k.module));
        }
    }
    return 0;
}
