#!/usr/bin/env python3
"""Variants of the gemm template for bench/cuda/gemm_epilogue_variants.cu.

    gemm_epilogue_variants.py SOURCES OUT [--old OLD_TEMPLATE]

SOURCES holds the kernels `Fusion.Bench gemm-sources SOURCES` writes (h_qkv1.cu, s_qkv1.cu, …: the template specialized with
its generated epilogue). OUT receives, per kernel TAG:
  TAG_new.cu   the kernel as Fusion compiles it now;
  TAG_old.cu   the same epilogue in front of OLD_TEMPLATE (e.g. `git show 8c579b7:src/Fusion.Kernels/Cuda/Templates/gemm.cut`);
  TAG_free.cu  without the template's __launch_bounds__ (registers as NVRTC likes);
  TAG_lb4.cu   __launch_bounds__ asking for 32 warps per SM (64 registers) instead of 24;
  TAG_v4.cu, TAG_v8.cu  (h_qkv1 and s_qkv1 only: bias epilogues, N % 32 == 0) the staged epilogue read back 4 or 8 columns a
               lane (8 or 4 lanes a row) through a hand-written fusion_epilogue_v<V>, the wider entry point the printer does not offer;
plus prelude.cuh and generated.cuh. The harness checks every variant's output against the first one's byte for byte.
"""
import argparse, os, shutil, sys

MARKER = "// gemm: out = epilogue("
BOUNDS = "__launch_bounds__(kThreads, kMinBlocks)"
READ_BACK = """        const int c = col0 + chunk * kEpiCols + pair_col;
        const bool pair = c + 1 < FUSION_N;
#pragma unroll
        for (int i = 0; i < kWarpRows / kEpiRowsPerStep; ++i)
        {
            const int rl = i * kEpiRowsPerStep + pair_row;
            const int r = row0 + warp * kWarpRows + rl;
            if (r >= m || c >= FUSION_N) continue;
            const fusion_f2 v = *reinterpret_cast<const fusion_f2*>(&stage[rl][pair_col]);
            fusion_epilogue(r, c, v.x, v.y, pair, batch FUSION_EPILOGUE_ARGS);
        }
"""


def read_back(v):
    return f"""        static_assert(FUSION_N % 32 == 0, "variant: whole chunks only");
        constexpr int kL = kEpiCols / {v};  // lanes per row
        const int vr = lane / kL, vc = {v} * (lane % kL);
        const int c = col0 + chunk * kEpiCols + vc;
#pragma unroll
        for (int i = 0; i < kWarpRows / (32 / kL); ++i)
        {{
            const int rl = i * (32 / kL) + vr;
            const int r = row0 + warp * kWarpRows + rl;
            if (r >= m) continue;
            float v[{v}];
#pragma unroll
            for (int q = 0; q < {v}; q += 4)
            {{
                const fusion_f4 t = *reinterpret_cast<const fusion_f4*>(&stage[rl][vc + q]);
                v[q] = t.x; v[q + 1] = t.y; v[q + 2] = t.z; v[q + 3] = t.w;
            }}
            fusion_epilogue_v<{v}>(r, c, v FUSION_EPILOGUE_ARGS);
        }}
"""


# The generated epilogues of h_qkv1 (acc + bias[col]) and s_qkv1 (acc · scale[col] + bias[col]), V columns at once.
EPILOGUE_V = {
    "h": """template <int V> FUSION_DEVICE void fusion_epilogue_v(long long row, int col, const float* acc FUSION_EPILOGUE_PARAMS)
{
    float b[V]; fusion_load_vec<V>(e1 + col, b);
    float s[V];
#pragma unroll
    for (int e = 0; e < V; e++) s[e] = acc[e] + b[e];
    fusion_store_vec<V>(e2 + (FUSION_N * row + col), s);
}

""",
    "s": """template <int V> FUSION_DEVICE void fusion_epilogue_v(long long row, int col, const float* acc FUSION_EPILOGUE_PARAMS)
{
    float sc[V]; fusion_load_vec<V>(e1 + col, sc);
    float b[V]; fusion_load_vec<V>(e2 + col, b);
    float s[V];
#pragma unroll
    for (int e = 0; e < V; e++) { const float t = acc[e] * sc[e]; s[e] = t + b[e]; }
    fusion_store_vec<V>(e3 + (FUSION_N * row + col), s);
}

""",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sources")
    ap.add_argument("out")
    ap.add_argument("--old", help="an earlier gemm.cut to compare against")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    for h in ("prelude.cuh", "generated.cuh"):
        shutil.copy(os.path.join(here, "..", "..", "src", "Fusion.Kernels", "Cuda", h), a.out)
    old = open(a.old).read() if a.old else None
    for f in sorted(os.listdir(a.sources)):
        if not f.endswith(".cu"):
            continue
        tag, s = f[:-3], open(os.path.join(a.sources, f)).read()
        at = s.index(MARKER)
        variants = {"new": s}
        if old is not None:
            variants["old"] = s[:at] + old
        if BOUNDS in s:
            variants["free"] = s.replace(BOUNDS, "")
            variants["lb4"] = s.replace(BOUNDS, "__launch_bounds__(kThreads, 1024 / kThreads)")
        if tag in ("h_qkv1", "s_qkv1"):
            if READ_BACK not in s:
                sys.exit(f"{f}: the template's read-back loop changed; update READ_BACK in {__file__}")
            for v in (4, 8):
                variants[f"v{v}"] = s[:at] + EPILOGUE_V[tag[0]] + s[at:].replace(READ_BACK, read_back(v))
        for name, text in variants.items():
            open(os.path.join(a.out, f"{tag}_{name}.cu"), "w").write(text)
        print(tag, " ".join(variants))


if __name__ == "__main__":
    main()
