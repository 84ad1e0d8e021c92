// A LayerNorm folded into the GEMM that reads it (issue 18, item 1): for the fp16 GEMMs a LayerNorm feeds in Swin-T and ViT-B/16
// (fc1 + GELU, qkv), the variants norm_gemm_probe.py writes into the current folder — ref, the template as Fusion compiles it, run on
// the LayerNorm's output, and norm, the same kernel gathering each row's statistics from its x tiles and reading the raw rows with
// the weight W·γ and the bias b + W·β — timed as the plan would run them: [LayerNorm kernel, ref] against [norm], each sequence
// captured ten times into one CUDA graph (so a kernel boundary costs what it costs in Fusion's replays), median of 20 replays ÷ 10;
// the LayerNorm alone and cuBLASLt's GEMM alone (events, its GELU_BIAS or BIAS epilogue) for scale. Accuracy: both outputs against
// LayerNorm then the GEMM in double on the host, over the first rows; the rows carry offsets up to ±2 on values in [−1, 1), so a
// mean 3.5 times the spread tests the statistics' shift. Built and run by norm_gemm_probe.sh.
#include "probe_common.cuh"

#include <cmath>
#include <cstring>

__global__ void fill_floats(float* p, int n, float lo, float hi, unsigned seed)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        p[i] = lo + (hi - lo) * ((hash(i, seed) >> 8) / 16777216.0f);
}

// x[r][·] += an offset a row in [−spread, spread).
__global__ void offset_rows(__half* x, long long m, int k, float spread, unsigned seed)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < m * k; i += (long long)gridDim.x * blockDim.x)
    {
        const float o = spread * (2.0f * ((hash(i / k, seed) >> 8) / 16777216.0f) - 1.0f);
        x[i] = __float2half(__half2float(x[i]) + o);
    }
}

// LayerNorm over rows of k (a multiple of 8, at most 768): a warp a row, 16-byte loads held in registers, the mean then the variance
// of the differences from them (as Fusion's row kernels compute it), ·γ + β, rounded once.
__global__ void layer_norm(const __half* __restrict__ x, const float* __restrict__ g, const float* __restrict__ b, __half* __restrict__ y,
                           long long m, int k, float eps)
{
    const long long row = blockIdx.x * (long long)(blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32, chunks = k / 8;
    if (row >= m) return;
    float v[3][8];
    float s = 0;
#pragma unroll
    for (int j = 0; j < 3; ++j)
    {
        const int c = lane + 32 * j;
        if (c < chunks)
        {
            const uint4 raw = *reinterpret_cast<const uint4*>(x + row * k + c * 8);
            const __half* h = reinterpret_cast<const __half*>(&raw);
#pragma unroll
            for (int e = 0; e < 8; ++e) { v[j][e] = __half2float(h[e]); s += v[j][e]; }
        }
    }
    for (int o = 16; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
    const float mean = s / k;
    float q = 0;
#pragma unroll
    for (int j = 0; j < 3; ++j)
        if (lane + 32 * j < chunks)
#pragma unroll
            for (int e = 0; e < 8; ++e) { const float d = v[j][e] - mean; q += d * d; }
    for (int o = 16; o > 0; o /= 2) q += __shfl_xor_sync(0xffffffffu, q, o);
    const float rstd = rsqrtf(q / k + eps);
#pragma unroll
    for (int j = 0; j < 3; ++j)
    {
        const int c = lane + 32 * j;
        if (c < chunks)
        {
            uint4 raw;
            __half* h = reinterpret_cast<__half*>(&raw);
#pragma unroll
            for (int e = 0; e < 8; ++e) h[e] = __float2half((v[j][e] - mean) * rstd * g[c * 8 + e] + b[c * 8 + e]);
            *reinterpret_cast<uint4*>(y + row * k + c * 8) = raw;
        }
    }
}

// The fold, a block an output row n: wf[n][·] = w[n][·]·γ rounded to fp16 (padding zero), colsum[n] = Σ_k wf[n][k] in float32 (of
// the rounded values: what the GEMM multiplies), biasf[n] = bias[n] + Σ_k w[n][k]·β[k] rounded to fp16.
__global__ void fold(const __half* __restrict__ w, const float* __restrict__ g, const float* __restrict__ beta, const __half* __restrict__ bias,
                     __half* __restrict__ wf, float* __restrict__ colsum, __half* __restrict__ biasf, int k, int kw)
{
    __shared__ float red[2][256];
    const int n = blockIdx.x;
    float s = 0, t = 0;
    for (int c = threadIdx.x; c < kw; c += blockDim.x)
    {
        const float wv = c < k ? __half2float(w[(long long)n * kw + c]) : 0.0f;
        const __half f = __float2half(c < k ? wv * g[c] : 0.0f);
        wf[(long long)n * kw + c] = f;
        s += __half2float(f);
        if (c < k) t += wv * beta[c];
    }
    red[0][threadIdx.x] = s;
    red[1][threadIdx.x] = t;
    __syncthreads();
    for (int o = blockDim.x / 2; o > 0; o /= 2)
    {
        if ((int)threadIdx.x < o) { red[0][threadIdx.x] += red[0][threadIdx.x + o]; red[1][threadIdx.x] += red[1][threadIdx.x + o]; }
        __syncthreads();
    }
    if (threadIdx.x == 0)
    {
        colsum[n] = red[0][0];
        biasf[n] = __float2half(__half2float(bias[n]) + red[1][0]);
    }
}

static double gelu(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }

static std::vector<unsigned short> to_host(const void* p, size_t halves)
{
    std::vector<unsigned short> h(halves);
    CK(cudaMemcpy(h.data(), p, halves * 2, cudaMemcpyDeviceToHost));
    return h;
}

static double half_value(unsigned short bits) { __half h; memcpy(&h, &bits, 2); return (double)__half2float(h); }

int main()
{
    struct Shape { std::string tag, layer; int rows; };
    const std::vector<Shape> shapes = {{"gelu_n384_k96", "Swin s1 fc1", 3136},   {"gelu_n768_k192", "Swin s2 fc1", 784},
                                       {"gelu_n1536_k384", "Swin s3 fc1", 196},  {"bias_n1152_k384", "Swin s3 qkv", 196},
                                       {"gelu_n3072_k768", "Swin s4 fc1", 49},   {"gelu_n3072_k768", "ViT fc1", 197},
                                       {"bias_n2304_k768", "ViT qkv", 197}};
    const float eps = 1e-5f, spread = 2.0f;
    constexpr int kReps = 10, kCheckRows = 12;
    ProbeSetup p;
    cudaStream_t stream; CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    printf("| layer | batch | M × N × K | LayerNorm alone | LayerNorm + ref (graph) | norm (graph) | norm ÷ (LN + ref) | cuBLASLt alone | max error ref | max error norm |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int batch : {1, 64})
        for (auto& s : shapes)
        {
            const std::string refFile = s.tag + "_ref.cu", normFile = s.tag + "_norm.cu";
            if (!std::ifstream(refFile) || !std::ifstream(normFile)) { printf("| %s | %d | (no %s) |\n", s.layer.c_str(), batch, refFile.c_str()); continue; }
            const bool isGelu = s.tag.rfind("gelu", 0) == 0;
            int n = 0, k = 0;
            sscanf(s.tag.c_str() + s.tag.find("_n") + 2, "%d_k%d", &n, &k);
            int m = s.rows * batch;
            GemmOperands o(m, n, k, false);
            offset_rows<<<1024, 256>>>((__half*)o.x, m, k, spread, 21);
            float *g, *beta, *colsum; __half *xn, *wf, *biasf;
            CK(cudaMalloc(&g, k * 4)); CK(cudaMalloc(&beta, k * 4)); CK(cudaMalloc(&colsum, ((n + 3) / 4 * 4) * 4));
            CK(cudaMalloc(&xn, (size_t)m * k * 2)); CK(cudaMalloc(&wf, (size_t)n * o.kw * 2)); CK(cudaMalloc(&biasf, n * 2));
            fill_floats<<<64, 256>>>(g, k, 0.5f, 1.5f, 22);
            fill_floats<<<64, 256>>>(beta, k, -0.5f, 0.5f, 23);
            fold<<<n, 256>>>((const __half*)o.w, g, beta, (const __half*)o.bias, wf, colsum, biasf, k, o.kw);
            CK(cudaDeviceSynchronize());

            Binary rb = nvrtc(refFile), nb = nvrtc(normFile);
            CUmodule rm, nm; CUfunction rf, nf;
            CD(cuModuleLoadData(&rm, rb.cubin.data())); CD(cuModuleGetFunction(&rf, rm, kernelName(refFile).c_str()));
            CD(cuModuleLoadData(&nm, nb.cubin.data())); CD(cuModuleGetFunction(&nf, nm, kernelName(normFile).c_str()));
            CUdeviceptr global; size_t globalBytes;
            CD(cuModuleGetGlobal(&global, &globalBytes, nm, "norm_colsum"));
            CD(cuMemcpyHtoD(global, &colsum, sizeof colsum));
            fprintf(stderr, "== %s\n%s\n== %s\n%s\n", refFile.c_str(), rb.log.c_str(), normFile.c_str(), nb.log.c_str());
            const unsigned grid = (unsigned)(((m + 127) / 128) * ((n + 95) / 96));
            std::vector<void*> refArgs = {&xn, &o.w, &m, &batch, &o.bias, &o.ref};
            std::vector<void*> normArgs = {&o.x, &wf, &m, &batch, &biasf, &o.out};
            const unsigned lnBlocks = (unsigned)((m + 7) / 8);
            auto lnThenRef = [&](cudaStream_t st) {
                layer_norm<<<lnBlocks, 256, 0, st>>>((const __half*)o.x, g, beta, xn, m, k, eps);
                CD(cuLaunchKernel(rf, grid, 1, 1, 256, 1, 1, 0, st, refArgs.data(), nullptr));
            };
            auto normOnly = [&](cudaStream_t st) { CD(cuLaunchKernel(nf, grid, 1, 1, 256, 1, 1, 0, st, normArgs.data(), nullptr)); };
            auto lnOnly = [&](cudaStream_t st) { layer_norm<<<lnBlocks, 256, 0, st>>>((const __half*)o.x, g, beta, xn, m, k, eps); };
            // One sequence for the accuracy check, then each as a graph of kReps sequences.
            lnThenRef(stream); normOnly(stream);
            CK(cudaStreamSynchronize(stream));
            auto graphUs = [&](auto&& sequence) {
                cudaGraph_t graph; cudaGraphExec_t exec;
                CK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
                for (int r = 0; r < kReps; ++r) sequence(stream);
                CK(cudaStreamEndCapture(stream, &graph));
                CK(cudaGraphInstantiate(&exec, graph, 0));
                cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
                std::vector<float> ts;
                for (int i = 0; i < 23; ++i)
                {
                    CK(cudaEventRecord(e0, stream));
                    CK(cudaGraphLaunch(exec, stream));
                    CK(cudaEventRecord(e1, stream));
                    CK(cudaEventSynchronize(e1));
                    float ms; CK(cudaEventElapsedTime(&ms, e0, e1));
                    if (i >= 3) ts.push_back(ms);
                }
                std::sort(ts.begin(), ts.end());
                cudaGraphExecDestroy(exec); cudaGraphDestroy(graph); cudaEventDestroy(e0); cudaEventDestroy(e1);
                return ts[ts.size() / 2] * 1000.0 / kReps;
            };
            const double usLn = graphUs(lnOnly), usPair = graphUs(lnThenRef), usNorm = graphUs(normOnly);
            const double usCublas = cublas_epilogue_us(p.lt, m, n, k, isGelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS, p.workspace, p.workspaceBytes);

            // LayerNorm then the GEMM in double over the first rows, from the operands as the device holds them.
            const int rows = std::min(m, kCheckRows);
            auto hx = to_host(o.x, (size_t)rows * k), hw = to_host(o.w, (size_t)n * o.kw), hb = to_host(o.bias, n);
            auto hr = to_host(o.ref, (size_t)rows * n), hn = to_host(o.out, (size_t)rows * n);
            std::vector<float> hg(k), hbeta(k);
            CK(cudaMemcpy(hg.data(), g, k * 4, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(hbeta.data(), beta, k * 4, cudaMemcpyDeviceToHost));
            double errRef = 0, errNorm = 0;
            for (int r = 0; r < rows; ++r)
            {
                double mean = 0, var = 0;
                for (int c = 0; c < k; ++c) mean += half_value(hx[(size_t)r * k + c]);
                mean /= k;
                for (int c = 0; c < k; ++c) { const double d = half_value(hx[(size_t)r * k + c]) - mean; var += d * d; }
                const double rstd = 1.0 / std::sqrt(var / k + eps);
                for (int j = 0; j < n; ++j)
                {
                    double acc = half_value(hb[j]);
                    for (int c = 0; c < k; ++c)
                        acc += ((half_value(hx[(size_t)r * k + c]) - mean) * rstd * hg[c] + hbeta[c]) * half_value(hw[(size_t)j * o.kw + c]);
                    const double want = isGelu ? gelu(acc) : acc;
                    errRef = std::max(errRef, std::fabs(half_value(hr[(size_t)r * n + j]) - want));
                    errNorm = std::max(errNorm, std::fabs(half_value(hn[(size_t)r * n + j]) - want));
                }
            }
            printf("| %s | %d | %d × %d × %d | %.1f | %.1f | %.1f | %.2f | %.1f | %.2e | %.2e |\n", s.layer.c_str(), batch, m, n, k, usLn, usPair, usNorm,
                   usNorm / usPair, usCublas, errRef, errNorm);
            fflush(stdout);
            CD(cuModuleUnload(rm)); CD(cuModuleUnload(nm));
            cudaFree(g); cudaFree(beta); cudaFree(colsum); cudaFree(xn); cudaFree(wf); cudaFree(biasf);
        }
    return 0;
}
