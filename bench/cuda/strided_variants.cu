// Variants of a generated strided kernel (a depthwise convolution: in0 [N, H, W, C] fp16 channels-last, in1 [taps, C] fp16,
// out0 [N, H, W, C] fp16), as the printer writes them for several thread mappings (KIND__VxP.cu files in the current folder,
// each ending with "// LAUNCH units-per-batch threads"; V channels × P pixels a thread). Each is compiled with NVRTC as Fusion compiles it (--std=c++17, sm_90,
// the shipped headers in memory), run at batch N on random inputs in [-1, 1), compared element by element with the first
// variant of the same kernel (largest difference; fp32 sums in another order differ by a rounding of the fp16 output), and
// timed: CUDA events around each launch, 5 warm-ups, median of 50. Built and run by strided_variants.sh.
#include <cuda_fp16.h>
#include <algorithm>
#include <dirent.h>
#include <map>

#include "nvrtc_harness.cuh"

__global__ void fill(__half* p, long long n, unsigned seed)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    {
        unsigned long long x = i * 0x9E3779B97F4A7C15ull + seed * 0xBF58476D1CE4E5B9ull;
        x ^= x >> 31; x *= 0x94D049BB133111EBull; x ^= x >> 29;
        p[i] = __float2half(((unsigned)x >> 8) * (2.0f / 16777216.0f) - 1.0f);
    }
}

__global__ void maxdiff(const __half* a, const __half* b, long long n, float* out)
{
    float m = 0;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        m = fmaxf(m, fabsf(__half2float(a[i]) - __half2float(b[i])));
    atomicMax((int*)out, __float_as_int(m)); // non-negative floats order as ints
}

int main(int argc, char** argv)
{
    int batch = argc > 1 ? atoi(argv[1]) : 64;
    int taps = argc > 2 ? atoi(argv[2]) : 49;
    std::map<std::string, std::vector<std::string>> kernels; // kernel name -> variant files (sorted, the first is the reference)
    DIR* d = opendir(".");
    for (dirent* e; (e = readdir(d));)
    {
        std::string f = e->d_name;
        auto sep = f.find("__");
        if (sep == std::string::npos || f.size() < 3 || f.substr(f.size() - 3) != ".cu") continue;
        kernels[f.substr(0, sep)].push_back(f);
    }
    closedir(d);
    CK(cudaFree(0));
    cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0));
    printf("device %s, %d SMs, batch %d\n\n", prop.name, prop.multiProcessorCount, batch);
    printf("| kernel | variant | regs | spill bytes | us (median of 50) | GB/s (in + out) | max |diff| vs first |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    float* dev; CK(cudaMalloc(&dev, 4));
    for (auto& [name, files] : kernels)
    {
        // The reference: one pixel a thread (…x1.cu), the widest vector first; then the others by name.
        auto onePixel = [](const std::string& f) { return f.size() > 6 && f.compare(f.size() - 5, 5, "x1.cu") == 0; };
        std::sort(files.begin(), files.end(), [&](const std::string& a, const std::string& b) {
            bool ra = onePixel(a), rb = onePixel(b);
            return ra != rb ? ra : ra ? a > b : a < b; });
        // nx56x56x96 -> 56 * 56 * 96 elements per image
        long long per = 1; int channels = 0;
        for (size_t p = name.find("_nx") + 3; p < name.size();)
        {
            size_t q = name.find('x', p);
            channels = atoi(name.substr(p, q == std::string::npos ? std::string::npos : q - p).c_str());
            per *= channels;
            if (q == std::string::npos) break;
            p = q + 1;
        }
        long long n = per * batch;
        __half *x, *w, *ref, *out;
        CK(cudaMalloc(&x, n * 2)); CK(cudaMalloc(&w, (size_t)taps * channels * 2));
        CK(cudaMalloc(&ref, n * 2)); CK(cudaMalloc(&out, n * 2));
        fill<<<1024, 256>>>(x, n, 1); fill<<<64, 256>>>(w, (long long)taps * channels, 2);
        for (auto& file : files)
        {
            Binary b = nvrtc(file, {"-DFUSION_IO_HALF=1"});
            std::string src = read(file);
            auto at = src.rfind("// LAUNCH ");
            long long units = atoll(src.c_str() + at + 10);
            int threads = atoi(src.c_str() + src.find(' ', at + 10) + 1);
            CUmodule mod; CUfunction f; int regs, local;
            CD(cuModuleLoadData(&mod, b.cubin.data()));
            CD(cuModuleGetFunction(&f, mod, name.c_str()));
            CD(cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, f));
            CD(cuFuncGetAttribute(&local, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, f));
            __half* dst = &file == &files[0] ? ref : out;
            void* args[] = {&x, &w, &dst, &batch};
            unsigned grid = (unsigned)((units * batch + threads - 1) / threads);
            CK(cudaMemset(dst, 0xFF, n * 2));
            CD(cuLaunchKernel(f, grid, 1, 1, threads, 1, 1, 0, 0, args, nullptr));
            CK(cudaDeviceSynchronize());
            float diff = 0;
            if (&file != &files[0])
            {
                CK(cudaMemset(dev, 0, 4));
                maxdiff<<<1024, 256>>>(ref, out, n, dev);
                CK(cudaMemcpy(&diff, dev, 4, cudaMemcpyDeviceToHost));
            }
            double us = median_launch_us(f, grid, threads, args, 5, 50);
            printf("| %s | %s | %d | %d | %.1f | %.0f | %s%g |\n", name.c_str(), file.substr(name.size() + 2, file.size() - name.size() - 5).c_str(),
                regs, local, us, 4.0 * n / (us * 1e3), &file == &files[0] ? "(ref) " : "", diff);
            fflush(stdout);
            fprintf(stderr, "== %s\n%s\n", file.c_str(), b.log.c_str());
            CD(cuModuleUnload(mod));
        }
        cudaFree(x); cudaFree(w); cudaFree(ref); cudaFree(out);
    }
    return 0;
}
