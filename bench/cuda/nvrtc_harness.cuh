// What the NVRTC variant harnesses (gemm_epilogue_variants.cu, strided_variants.cu) share: error checks, reading a file, and
// compiling a kernel source with NVRTC as Fusion does (--std=c++17, sm_90, prelude.cuh and generated.cuh from the current
// folder given in memory as the runtime gives them), keeping ptxas's report (registers, spills).
#pragma once
#include <cuda.h>
#include <cuda_runtime.h>
#include <nvrtc.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("CUDA %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); exit(1); } } while (0)
#define CD(x) do { CUresult e_ = (x); if (e_ != CUDA_SUCCESS) { const char* s_; cuGetErrorString(e_, &s_); printf("CU %s at %s:%d\n", s_, __FILE__, __LINE__); exit(1); } } while (0)
#define CN(x) do { nvrtcResult e_ = (x); if (e_ != NVRTC_SUCCESS) { printf("NVRTC %s at %s:%d\n", nvrtcGetErrorString(e_), __FILE__, __LINE__); exit(1); } } while (0)

static std::string read(const std::string& p)
{
    std::ifstream f(p);
    if (!f) { printf("cannot read %s\n", p.c_str()); exit(1); }
    std::stringstream s; s << f.rdbuf(); return s.str();
}

struct Binary { std::vector<char> cubin; std::string log; };

/// The CUBIN of one source file; a compile error prints NVRTC's log and exits.
static Binary nvrtc(const std::string& file, const std::vector<const char*>& extra = {})
{
    std::string src = read(file);
    std::string h1 = read("prelude.cuh"), h2 = read("generated.cuh");
    const char* headers[] = {h1.c_str(), h2.c_str()};
    const char* names[] = {"prelude.cuh", "generated.cuh"};
    nvrtcProgram prog;
    CN(nvrtcCreateProgram(&prog, src.c_str(), file.c_str(), 2, headers, names));
    std::vector<const char*> opts = {"--std=c++17", "--gpu-architecture=sm_90", "--ptxas-options=-v"};
    opts.insert(opts.end(), extra.begin(), extra.end());
    nvrtcResult r = nvrtcCompileProgram(prog, (int)opts.size(), opts.data());
    size_t logSize; nvrtcGetProgramLogSize(prog, &logSize);
    Binary b; b.log.assign(logSize, '\0'); nvrtcGetProgramLog(prog, &b.log[0]);
    if (r != NVRTC_SUCCESS) { printf("%s: %s\n", file.c_str(), b.log.c_str()); exit(1); }
    size_t n; CN(nvrtcGetCUBINSize(prog, &n));
    b.cubin.resize(n); CN(nvrtcGetCUBIN(prog, b.cubin.data()));
    nvrtcDestroyProgram(&prog);
    return b;
}

/// Median time of one launch in microseconds: CUDA events around each launch on the default stream, the first warm-ups dropped.
static double median_launch_us(CUfunction f, unsigned grid, unsigned threads, void** args, int warmups, int timed, unsigned shared_bytes = 0)
{
    cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
    std::vector<float> t;
    for (int i = 0; i < warmups + timed; i++)
    {
        CK(cudaEventRecord(e0));
        CD(cuLaunchKernel(f, grid, 1, 1, threads, 1, 1, shared_bytes, 0, args, nullptr));
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float ms; CK(cudaEventElapsedTime(&ms, e0, e1));
        if (i >= warmups) t.push_back(ms);
    }
    CK(cudaEventDestroy(e0)); CK(cudaEventDestroy(e1));
    std::sort(t.begin(), t.end());
    return t[t.size() / 2] * 1000;
}
