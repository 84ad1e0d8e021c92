"""PyTorch reference for the fused-GEMM benchmark (`Fusion.Bench gemm`): the Swin-T stage-1 linear layers at batch 64.

m = 64*3136 rows, fp16: qkv (N=288, K=96), proj (96, 96), fc1 + GELU (384, 96), fc2 + residual (96, 384), all with bias.
Same method as bench/Fusion.Bench: CUDA events around each call, 10 warm-ups, median of 50, three rotating random input
sets (so L2 does not hold the previous call's operands), two rounds. Eager runs F.linear (cuBLAS with the bias fused)
then a separate GELU or add kernel; torch.compile (if FUSION_TORCH_COMPILE=1) may fuse the epilogue.
"""
import os

import torch
import torch.nn.functional as F

from cuda_timing import median_us

ROWS = 64 * 3136
LAYERS = [("qkv", 288, 96, None), ("proj", 96, 96, None), ("fc1+gelu", 384, 96, "gelu"), ("fc2+residual", 96, 384, "residual")]


def layer_fn(kind):
    if kind == "gelu":
        return lambda x, w, b, r: F.gelu(F.linear(x, w, b))
    if kind == "residual":
        return lambda x, w, b, r: F.linear(x, w, b) + r
    return lambda x, w, b, r: F.linear(x, w, b)


def main():
    torch.manual_seed(0)
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    big = torch.empty(1 << 29, device="cuda", dtype=torch.float16)
    dst = torch.empty_like(big)
    t = median_us(lambda a, b: b.copy_(a), [(big, dst)], warmup=3, iters=20)
    copy_gbs = 2 * big.numel() * 2 / t / 1e3
    print(f"torch copy_ of 1 GiB: median {t:.1f} us, {copy_gbs:.0f} GB/s")
    del big, dst
    compile_too = os.environ.get("FUSION_TORCH_COMPILE") == "1"
    rows = []
    for name, n, k, kind in LAYERS:
        w = torch.rand(n, k, device="cuda", dtype=torch.float16) * 2 - 1
        b = torch.rand(n, device="cuda", dtype=torch.float16) * 2 - 1
        sets = [(torch.rand(ROWS, k, device="cuda", dtype=torch.float16) * 2 - 1, w, b,
                 torch.rand(ROWS, n, device="cuda", dtype=torch.float16) * 2 - 1 if kind == "residual" else None) for _ in range(3)]
        nbytes = 2 * (ROWS * k + n * k + ROWS * n + (ROWS * n if kind == "residual" else 0))
        flops = 2 * ROWS * n * k
        floor_us = nbytes / copy_gbs / 1e3
        variants = [("eager", layer_fn(kind))]
        if compile_too and kind is not None:
            variants.append(("torch.compile", torch.compile(layer_fn(kind))))
        for label, fn in variants:
            meds = [median_us(fn, sets, iters=50) for _ in range(2)]
            us = sum(meds) / 2
            rows.append(f"| {name} | {n}x{k} | PyTorch {label} | {meds[0]:.1f} / {meds[1]:.1f} | {nbytes / us / 1e3:.0f} | "
                        f"{flops / us / 1e6:.1f} | {100 * floor_us / us:.1f} % |")
        del sets
        torch.cuda.empty_cache()
    print("| layer | N×K | path | median µs (round 1 / 2) | GB/s | TFLOP/s | % of memory floor |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
