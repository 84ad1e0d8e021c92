#!/usr/bin/env python3
"""A LayerNorm folded into the GEMM that reads it, as a probe for bench/cuda/norm_gemm_probe.cu (issue 18, item 1).

    norm_gemm_probe.py GENERATED_CS OUT

GENERATED_CS is a sample's generated source (SwinTiny.Model.SwinTransformerTiny.Fusion.g.cs, ViT.Model.VisionTransformerBase16.Fusion.g.cs;
run once for each into the same OUT). OUT receives, for each fp16 GEMM of the fp16 plan whose epilogue is a bias (gemm_bias_nN_kK) or
a bias and GELU (gemm_bias_gelu_nN_kK) with K a multiple of 32 (the fc1 and qkv GEMMs a LayerNorm feeds), files TAG_VARIANT.cu:
  ref   the template as Fusion compiles it (the default 128 x 96 tile, four columns a lane), to be run on the LayerNorm's output;
  norm  the same kernel reading the raw rows: while each k-step's x tile sits in shared memory (between the barrier and the tile's
        multiplies), the threads of a row add its values less the row's first value and their squares (two to eight threads a row
        by the tile's height, the columns past K skipped); after the last step each row's sums are combined by shuffles into its
        mean and 1/sqrt(variance + eps) in shared memory, and the read-back gives the epilogue (acc - mean*s[c])*rstd, s[c] the
        column sums of the folded weight W*gamma (float32, a device global the harness sets). The harness passes W*gamma as the
        weight and b + W*beta as the bias, so that the printed epilogue is unchanged: LayerNorm(x)*W^T + b as a GEMM of raw x.
plus prelude.cuh and generated.cuh. The injections are string replacements at anchors of gemm.cut; a changed anchor stops the script.
The question the harness answers: what the row statistics cost inside the GEMM, against the LayerNorm kernel and the boundary
before the GEMM that they remove, at batch 1 (where each kernel is a few microseconds and a boundary about 1.6) and at batch 64.
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from int8_epilogue_probe import CUDA, arguments_and_headers, kernels  # noqa: E402

# Declarations after the template's constants (before the four-columns read-back that uses them).
DECL_ANCHOR = "// Four columns a lane (the printed epilogue offers them"
DECL = r'''// ---- norm_gemm_probe: the row statistics of the block's x rows, gathered from the x tiles as they pass ----
constexpr int kNormLanes = kThreads / kBM;     // threads a row (2 at BM = 128, 256 threads)
constexpr int kNormCols = kBK / kNormLanes;    // columns a thread adds each k-step
static_assert(kNormLanes >= 1 && kNormLanes <= 32 && 32 % kNormLanes == 0 && kNormCols >= 1, "norm probe: thin tiles only");
#ifndef NORM_EPS
#define NORM_EPS 1e-5f
#endif
__shared__ float norm_mean[kBM], norm_rstd[kBM];
__device__ const float* norm_colsum;           // s[c] = sum over k of (W*gamma)[c][k], float32; set by the harness
FUSION_DEVICE void norm_accumulate(const gemm_in_t (*tile)[kBKP], int k0, int tid, float shift, float& s, float& ss)
{
    const int row = tid / kNormLanes, c0 = (tid % kNormLanes) * kNormCols;
#pragma unroll
    for (int j = 0; j < kNormCols; ++j)
        if (k0 + c0 + j < FUSION_K)
        {
            const float v = half_to_float(tile[row][c0 + j]) - shift;
            s += v;
            ss += v * v;
        }
}

'''

READ_COLUMNS = "    const fusion_epilogue_columns4 columns = fusion_epilogue_load_columns4(c FUSION_EPILOGUE_ARGS);\n"
READ_COLUMNS_NORM = READ_COLUMNS + "    const fusion_f4 norm_s = *reinterpret_cast<const fusion_f4*>(norm_colsum + c);\n"
ROW4 = "        fusion_epilogue_row4(r, c, v, batch, columns FUSION_EPILOGUE_ARGS);\n"
ROW4_NORM = r'''        const int norm_local = r - (int)(blockIdx.x / kNTiles) * kBM;
        const float mu = norm_mean[norm_local], rs = norm_rstd[norm_local];
        fusion_f4 vn;
        vn.x = (v.x - mu * norm_s.x) * rs;
        vn.y = (v.y - mu * norm_s.y) * rs;
        vn.z = (v.z - mu * norm_s.z) * rs;
        vn.w = (v.w - mu * norm_s.w) * rs;
        fusion_epilogue_row4(r, c, vn, batch, columns FUSION_EPILOGUE_ARGS);
'''
LOOP = "#pragma unroll 1\n    for (int kt = 0; kt < k_count; ++kt)\n"
LOOP_NORM = r'''    float norm_s1 = 0.0f, norm_s2 = 0.0f;
    const int norm_row = tid / kNormLanes;
    // The row's first value as the shift: the sums of (x - shift) keep the variance where the mean is large against the spread.
    const float norm_shift = row0 + norm_row < m ? half_to_float(x[(long long)(row0 + norm_row) * FUSION_K]) : 0.0f;
''' + LOOP
COMPUTE = "        gemm_compute_tile(a_tiles[kt % kStages], b_tiles[kt % kStages], acc, warp_row, warp_col, lane);\n"
COMPUTE_NORM = "        norm_accumulate(a_tiles[kt % kStages], (k_first + kt) * kBK, tid, norm_shift, norm_s1, norm_s2);\n" + COMPUTE
STAGE = "    float (*stage)[kEpiStride] = reinterpret_cast<float (*)[kEpiStride]>(&a_tiles[0][0][0]) + warp * 16;\n"
STAGE_NORM = r'''#pragma unroll
    for (int o = kNormLanes / 2; o > 0; o /= 2)
    {
        norm_s1 += warp_shfl_xor(norm_s1, o);
        norm_s2 += warp_shfl_xor(norm_s2, o);
    }
    if (tid % kNormLanes == 0)
    {
        const float d = norm_s1 * (1.0f / FUSION_K), var = fusion_max(norm_s2 * (1.0f / FUSION_K) - d * d, 0.0f);
        norm_mean[norm_row] = norm_shift + d;
        norm_rstd[norm_row] = fusion_rsqrt(var + NORM_EPS);
    }
    __syncthreads();  // every row's statistics before any warp's read-back
''' + STAGE


def norm_variant(src):
    for anchor in (DECL_ANCHOR, READ_COLUMNS, ROW4, LOOP, COMPUTE, STAGE):
        if src.count(anchor) != 1:
            sys.exit(f"gemm.cut changed: the anchor {anchor.strip()[:60]!r} is not found once; update {__file__}")
    return (src.replace(DECL_ANCHOR, DECL + DECL_ANCHOR).replace(READ_COLUMNS, READ_COLUMNS_NORM).replace(ROW4, ROW4_NORM)
            .replace(LOOP, LOOP_NORM).replace(COMPUTE, COMPUTE_NORM).replace(STAGE, STAGE_NORM))


def main():
    a = arguments_and_headers(__doc__.splitlines()[0])
    template = open(os.path.join(CUDA, "Templates", "gemm.cut")).read()
    found = kernels(a.generated, template, r"gemm_bias(?:_gelu)?_n(\d+)_k(\d+)")
    picked = {name: v for name, v in found.items() if v[1] % 32 == 0 and v[0] % 4 == 0}
    if not picked:
        sys.exit(f"{a.generated}: no fp16 bias or bias + GELU GEMM with K a multiple of 32")
    for name, (n, k, src) in sorted(picked.items(), key=lambda kv: (kv[1][1], kv[1][0])):
        tag = f"{'gelu' if '_gelu_' in name else 'bias'}_n{n}_k{k}"
        for v, text in {"ref": src, "norm": norm_variant(src)}.items():
            open(os.path.join(a.out, f"{tag}_{v}.cu"), "w").write(text)
        print(name, tag)


if __name__ == "__main__":
    main()
