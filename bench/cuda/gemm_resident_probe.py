#!/usr/bin/env python3
"""Swin-T's short-K fp16 GEMMs in the template and on the persistent resident-weight kernel, for bench/cuda/gemm_resident_probe.cu.

    gemm_resident_probe.py GENERATED_CS OUT

GENERATED_CS is the SwinTiny sample's generated source (SwinTiny.Model.SwinTransformerTiny.Fusion.g.cs). OUT receives, for each fp16
GEMM of the fp16 plan whose epilogue is a bias (gemm_bias_nN_kK) or a bias and GELU (gemm_bias_gelu_nN_kK), N a multiple of 96 and
K at most 192 (rows of at most 384 bytes), files TAG_VARIANT.cu:
  ref          the template as Fusion compiles it (the default 128 × 96 tile, four columns a lane; GELU by erf);
  persist      the printed epilogue on bench/cuda/persistent_gemm.cut (w's slab resident, each warp streaming 16-row tiles of x):
               the same products in the same order, so the same halves as ref;
  persisttanh  (GELU GEMMs) persist compiled with FUSION_GELU_TANH=1, the form cuBLASLt's GELU epilogue computes;
  reftanh      (GELU GEMMs) ref with FUSION_GELU_TANH=1;
plus prelude.cuh and generated.cuh. The harness times each against cuBLASLt's fp16 GEMM with the same epilogue, the question being
whether the template, given the weights resident and the loads overlapped, can take these GEMMs from cuBLASLt (what a LayerNorm
prologue or fewer kernels at batch 1 need, issue 18).
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from int8_epilogue_probe import CUDA, PERSIST_KERNEL, TEMPLATE_MARKER, arguments_and_headers, kernels  # noqa: E402


def main():
    a = arguments_and_headers(__doc__.splitlines()[0])
    template = open(os.path.join(CUDA, "Templates", "gemm.cut")).read()
    persist = PERSIST_KERNEL
    found = kernels(a.generated, template, r"gemm_bias(?:_gelu)?_n(\d+)_k(\d+)")
    picked = {name: v for name, v in found.items() if v[0] % 96 == 0 and v[1] <= 192 and v[1] % 16 == 0}
    if not picked:
        sys.exit(f"{a.generated}: no short-K fp16 bias or bias + GELU GEMM")
    for name, (n, k, src) in sorted(picked.items(), key=lambda kv: (kv[1][1], kv[1][0])):
        gelu = "_gelu_" in name
        tag = f"{'gelu' if gelu else 'bias'}_n{n}_k{k}"
        printed = src[: src.index(TEMPLATE_MARKER)]
        variants = {"ref": src, "persist": printed + persist}
        if gelu:
            variants["reftanh"] = "#define FUSION_GELU_TANH 1\n" + src
            variants["persisttanh"] = "#define FUSION_GELU_TANH 1\n" + printed + persist
        for v, text in variants.items():
            open(os.path.join(a.out, f"{tag}_{v}.cu"), "w").write(text)
        print(name, tag, " ".join(variants))


if __name__ == "__main__":
    main()
