// Swin-T's short-K fp16 GEMMs (bias, bias + GELU) in the variants gemm_resident_probe.py writes into the current folder: the
// template as Fusion compiles it (ref: the default 128 × 96 tile, 256 threads) and the persistent resident-weight kernel
// (persistent_gemm.cut: w's slab in shared memory, each warp streaming 16-row tiles of x), both compiled with NVRTC as Fusion
// does, against cuBLASLt's fp16 GEMM with the same epilogue (what the fp16 plan runs there), at batch 64 and batch 1. Each
// variant's halves are compared with ref's: persist must equal it (the same products in the same order); the tanh forms differ by
// the two GELU forms' distance. Operands: fp16 in [-1, 1) (gemm_harness_data.cuh). Timing: CUDA events around each launch, 3
// warm-ups, median of 20. Built and run by gemm_resident_probe.sh.
#include "probe_common.cuh"

int main()
{
    struct Shape { std::string tag; int rows; int n, k; bool gelu; };
    // Rows an image (56·56 at stage 1, 28·28 at stage 2) and the layer.
    const std::vector<Shape> shapes = {{"bias_n96_k48", 3136, 96, 48, false},     // patch embedding
                                       {"bias_n288_k96", 3136, 288, 96, false},   // stage 1 qkv
                                       {"bias_n96_k96", 3136, 96, 96, false},     // stage 1 proj
                                       {"gelu_n384_k96", 3136, 384, 96, true},    // stage 1 fc1
                                       {"bias_n576_k192", 784, 576, 192, false},  // stage 2 qkv
                                       {"bias_n192_k192", 784, 192, 192, false},  // stage 2 proj
                                       {"gelu_n768_k192", 784, 768, 192, true}};  // stage 2 fc1
    const std::vector<std::string> order = {"ref", "persist", "reftanh", "persisttanh"};
    ProbeSetup p;
    printf("| layer | M × N × K | variant | blocks | µs (median of 20) | GB/s (x + out) | halves ≠ ref |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for (int batch : {64, 1})
        for (auto& s : shapes)
        {
            int m = s.rows * batch;
            GemmOperands o(m, s.n, s.k, false);
            const unsigned grid = (unsigned)(((m + 127) / 128) * ((s.n + 95) / 96));
            const double bytes = ((double)m * s.k + (double)m * s.n) * 2;
            for (auto& v : order)
            {
                std::string file = s.tag + "_" + v + ".cu";
                if (!std::ifstream(file)) continue;
                Binary b = nvrtc(file);
                CUmodule module; CUfunction f;
                CD(cuModuleLoadData(&module, b.cubin.data()));
                CD(cuModuleGetFunction(&f, module, kernelName(file).c_str()));
                void* dst = v == "ref" ? o.ref : o.out;
                std::vector<void*> args = {&o.x, &o.w, &m, &batch, &o.bias, &dst};
                unsigned g = grid, smem = 0;
                if (v.rfind("persist", 0) == 0) persist_launch(f, p.prop.multiProcessorCount, s.n, 2 * s.k, 192, g, smem);
                CK(cudaMemset(dst, 0x55, (o.outN + GemmOperands::kGuard) * 2));
                CD(cuLaunchKernel(f, g, 1, 1, 256, 1, 1, smem, 0, args.data(), nullptr));
                CK(cudaDeviceSynchronize());
                const unsigned long long mism = v == "ref" ? 0 : o.mismatches(p.count);
                const double us = median_launch_us(f, g, 256, args.data(), 3, 20, smem);
                printf("| %s b%d | %d × %d × %d | %s | %u | %.1f | %.0f | %s%llu |\n", s.tag.c_str(), batch, m, s.n, s.k, v.c_str(), g, us,
                       bytes / (us * 1e3), v == "ref" ? "(ref) " : "", mism);
                fflush(stdout);
                fprintf(stderr, "== %s (%u bytes of dynamic shared memory)\n%s\n", file.c_str(), smem, b.log.c_str());
                CD(cuModuleUnload(module));
            }
            const double cu = cublas_epilogue_us(p.lt, m, s.n, s.k, s.gelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS, p.workspace, p.workspaceBytes);
            printf("| %s b%d | %d × %d × %d | cuBLASLt | | %.1f | %.0f | |\n", s.tag.c_str(), batch, m, s.n, s.k, cu, bytes / (cu * 1e3));
            fflush(stdout);
        }
    return 0;
}
