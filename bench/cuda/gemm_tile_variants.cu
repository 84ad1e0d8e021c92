// Tile shapes of the gemm template (src/Fusion.Kernels/Cuda/Templates/gemm.cut) on GEMMs bound by the tensor cores: compiles each
// kernel source in the current folder (`Fusion.Bench gemm-sources DIR` writes them: the template with its generated bias epilogue)
// with NVRTC as Fusion does, once per tile given as -D options (FUSION_BM, FUSION_BN, FUSION_WARP_ROWS, FUSION_WARP_COLS,
// FUSION_STAGES; dynamic shared memory past 48 KB as the launcher asks for it), runs it on random inputs, checks its output (and
// 4096 poisoned halves past it) byte for byte against the first tile's (every tile sums each output over k in the same order), and
// times it: CUDA events around each launch, 3 warm-ups, median of 20. Prints registers and ptxas's spill report per tile.
//   ./Fusion.Bench gemm-sources /tmp/g && bash bench/cuda/gemm_tile_variants.sh /tmp/g [TAG [TILE]]
// With TAG (and TILE, an index into the table) it runs only those, once, for ncu.
#include <algorithm>
#include <map>

#include "nvrtc_harness.cuh"
#include "gemm_harness_data.cuh"

struct Tile { int bm, bn, wr, wc, stages; };

static int threads(const Tile& t) { return t.bm / t.wr * (t.bn / t.wc) * 32; }
static bool wide(const Tile& t) { return t.wr != 16; }
static unsigned shared_bytes(const Tile& t) { return wide(t) ? t.stages * (t.bm + t.bn) * 80 : 0; }

static std::string spills(const std::string& log)
{
    auto i = log.find("bytes spill stores");
    if (i == std::string::npos) return "?";
    auto j = log.rfind(' ', i - 2);
    return log.substr(j + 1, i - j - 2) + " B";
}

int main(int argc, char** argv)
{
    struct Config { std::string tag; int m, n, k; bool s8; };
    // Deep-K shapes: ResNet-50's stage-3 3×3 convolution as a plain GEMM (batch 64), Swin-T's stage-4 fc2 and fc1 (batch 64); a
    // narrow one, ResNet-50's stage-1 3×3 convolution (N = 64); and its stage-2 and stage-4 ones.
    const std::vector<Config> configs = {
        {"h_deep", 12544, 256, 2304, false}, {"s_deep", 12544, 256, 2304, true},
        {"h_fc2_4", 3136, 768, 3072, false}, {"s_fc2_4", 3136, 768, 3072, true},
        {"h_fc1_4", 3136, 3072, 768, false},
        {"h_n64", 200704, 64, 576, false}, // ResNet-50's stage-1 3×3 convolution as a GEMM (batch 64)
        {"h_s2", 50176, 128, 1152, false}, {"h_s4", 3136, 512, 4608, false}, // its stage-2 and stage-4 3×3 convolutions (batch 64)
    };
    std::vector<Tile> tiles = {
        {128, 96, 16, 96, 2},                                                // the thin default
        {128, 128, 64, 64, 3}, {256, 128, 64, 64, 3}, {128, 256, 64, 64, 3}, // the wide tiles Fusion offers
        {128, 128, 64, 32, 3}, {128, 128, 32, 64, 3}, {128, 128, 64, 32, 4}, {128, 128, 64, 64, 4},
        {64, 128, 32, 64, 3}, {128, 64, 64, 32, 3}, {256, 128, 64, 64, 4}, {128, 256, 64, 64, 4},
        {256, 64, 64, 64, 3}, // the wide tile for N = 64 … 127
        // 2 and 4 warps side by side: twice the blocks of 128 × 128 and 128 × 256 (ResNet-50's stage-3 convolution at batch 64 is 196
        // blocks of 128 × 128 on 132 SMs). Measured slower than 128 × 128 on every shape here (docs/perf.md), not offered.
        {64, 128, 64, 64, 3}, {64, 256, 64, 64, 3},
    };
    // FUSION_TILE_COUNT=1 times the thin default alone: what an older template (which has no wide tiles) can be compared on.
    if (const char* count = getenv("FUSION_TILE_COUNT")) tiles.resize(std::min(tiles.size(), (size_t)std::max(1, atoi(count))));
    const std::string onlyTag = argc > 1 ? argv[1] : "";
    const int onlyTile = argc > 2 ? atoi(argv[2]) : -1;
    CK(cudaFree(0));
    cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0));
    int nv_major, nv_minor; nvrtcVersion(&nv_major, &nv_minor);
    printf("device %s, %d SMs, NVRTC %d.%d\n", prop.name, prop.multiProcessorCount, nv_major, nv_minor);
    unsigned long long* count; CK(cudaMalloc(&count, 8));
    printf("| config | M | N | K | tile (BM×BN, warp WR×WC, stages) | threads | smem | regs | spills | µs (median of 20) | TFLOP/s | mismatches vs the first |\n"
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (auto& c : configs)
    {
        if (!onlyTag.empty() && c.tag != onlyTag) continue;
        const std::string file = c.tag + ".cu";
        if (!std::ifstream(file)) { printf("| %s | missing %s |\n", c.tag.c_str(), file.c_str()); continue; }
        GemmOperands ops(c.m, c.n, c.k, c.s8);
        int m = c.m, batch = c.m;
        for (size_t ti = 0; ti < tiles.size(); ti++)
        {
            if (onlyTile >= 0 && (int)ti != onlyTile && ti != 0) continue;
            const Tile& t = tiles[ti];
            std::vector<std::string> defines = {
                "-DFUSION_BM=" + std::to_string(t.bm), "-DFUSION_BN=" + std::to_string(t.bn), "-DFUSION_WARP_ROWS=" + std::to_string(t.wr),
                "-DFUSION_WARP_COLS=" + std::to_string(t.wc), "-DFUSION_STAGES=" + std::to_string(t.stages)};
            if (wide(t)) defines.push_back("-DFUSION_GEMM_DYNAMIC_SMEM=1");
            std::vector<const char*> opts;
            for (auto& d : defines) opts.push_back(d.c_str());
            Binary b = nvrtc(file, opts);
            CUmodule module; CUfunction f; int regs;
            CD(cuModuleLoadData(&module, b.cubin.data()));
            CD(cuModuleGetFunction(&f, module, kernelName(file).c_str()));
            CD(cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, f));
            const unsigned smem = shared_bytes(t);
            if (smem > 48 * 1024) CD(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)smem));
            const unsigned grid = (unsigned)(((c.m + t.bm - 1) / t.bm) * ((c.n + t.bn - 1) / t.bn));
            void* dst = ti == 0 ? ops.ref : ops.out;
            std::vector<void*> args = {&ops.x, &ops.w, &m, &batch};
            if (c.s8) args.push_back(&ops.scale);
            args.push_back(&ops.bias);
            args.push_back(&dst);
            CK(cudaMemset(dst, 0xFF, (ops.outN + GemmOperands::kGuard) * 2));
            CD(cuLaunchKernel(f, grid, 1, 1, threads(t), 1, 1, smem, 0, args.data(), nullptr));
            CK(cudaDeviceSynchronize());
            unsigned long long mism = ti != 0 ? ops.mismatches(count) : 0;
            const bool once = onlyTile >= 0;
            double us = once ? 0 : median_launch_us(f, grid, threads(t), args.data(), 3, 20, smem);
            double tflops = once ? 0 : 2.0 * c.m * c.n * c.k / (us * 1e6);
            printf("| %s | %d | %d | %d | %d×%d, %d×%d, %d | %d | %u | %d | %s | %.1f | %.0f | %s%llu |\n", c.tag.c_str(), c.m, c.n, c.k, t.bm, t.bn, t.wr, t.wc,
                t.stages, threads(t), smem, regs, spills(b.log).c_str(), us, tflops, ti == 0 ? "(ref) " : "", mism);
            fflush(stdout);
            CD(cuModuleUnload(module));
        }
    }
    return 0;
}
