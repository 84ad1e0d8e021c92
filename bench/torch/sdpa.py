"""PyTorch's scaled_dot_product_attention on the shapes of `Fusion.Bench attention` (docs/perf.md, issue 15).

q, k, v [B, H, T, 64] fp16 on the GPU, T = 197, 577, 1024, 4096, causal off and on; each backend PyTorch offers for fp16
(flash, memory-efficient, cuDNN, math) forced in turn with torch.nn.attention.sdpa_kernel, plus PyTorch's own choice. Median of
100 CUDA-event-timed calls after 10 warm-ups (cuda_timing.median_us), TFLOP/s counting q·kᵀ and p·v (4·B·H·T²·d, half when causal).
    python3 bench/torch/sdpa.py [--batch 8] [--heads 12]
"""
import argparse

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from cuda_timing import median_us


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--heads", type=int, default=12)
    args = parser.parse_args()
    d = 64
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}; sdpa q/k/v [{args.batch}, {args.heads}, T, {d}] fp16")
    backends = [("default", None), ("flash", SDPBackend.FLASH_ATTENTION), ("efficient", SDPBackend.EFFICIENT_ATTENTION),
                ("cudnn", SDPBackend.CUDNN_ATTENTION), ("math", SDPBackend.MATH)]
    for causal in (False, True):
        for t in (197, 577, 1024, 4096):
            sets = [tuple(torch.randn(args.batch, args.heads, t, d, device="cuda", dtype=torch.float16) for _ in range(3)) for _ in range(2)]
            flop = 4.0 * args.batch * args.heads * t * t * d * (0.5 if causal else 1)
            row = []
            for name, backend in backends:
                def run(q, k, v):
                    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                try:
                    if backend is None:
                        us = median_us(run, sets)
                    else:
                        with sdpa_kernel(backend):
                            us = median_us(run, sets)
                    row.append(f"{name} {us:8.1f} us {flop / us / 1e6:6.1f} TFLOP/s")
                except RuntimeError as e:
                    row.append(f"{name} n/a ({str(e).splitlines()[0][:40]})")
            print(f"sdpa T={t:5d} causal={int(causal)}: " + " | ".join(row))


if __name__ == "__main__":
    main()
