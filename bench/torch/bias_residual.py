"""PyTorch reference for the bias+residual benchmark: out = x + bias + residual, fp16, 64x3136x96.

Same method as bench/Fusion.Bench: CUDA events around each call, warm-up, median of 100, three
rotating random input sets (so L2 does not hold the previous call's inputs). Eager PyTorch runs
two kernels (x + bias, then + residual); torch.compile fuses them into one.
"""
import torch

from cuda_timing import median_us


def main():
    torch.manual_seed(0)
    shape = (64, 3136, 96)
    sets = [(torch.rand(shape, device="cuda", dtype=torch.float16) * 2 - 1,
             torch.rand(96, device="cuda", dtype=torch.float16) * 2 - 1,
             torch.rand(shape, device="cuda", dtype=torch.float16) * 2 - 1,
             torch.empty(shape, device="cuda", dtype=torch.float16)) for _ in range(3)]
    nbytes = 3 * sets[0][0].numel() * 2

    def eager(x, b, r, out):
        torch.add(x + b, r, out=out)

    def plain(x, b, r):
        return x + b + r

    compiled = torch.compile(plain)
    out_ref = (sets[0][0].float() + sets[0][1].float() + sets[0][2].float())
    assert (compiled(*sets[0][:3]).float() - out_ref).abs().max().item() < 4e-3

    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    for name, fn, args in [("eager (2 kernels)", eager, sets), ("torch.compile", lambda x, b, r, o: compiled(x, b, r), sets)]:
        t = median_us(fn, args)
        print(f"bias+residual {name}: median {t:.1f} us, {nbytes / t / 1e3:.0f} GB/s (3 x {nbytes // 3} bytes counted)")
    big = torch.empty(1 << 29, device="cuda", dtype=torch.float16)
    dst = torch.empty_like(big)
    t = median_us(lambda a, b: b.copy_(a), [(big, dst)], warmup=3, iters=20)
    print(f"torch copy_ of 1 GiB: median {t:.1f} us, {2 * big.numel() * 2 / t / 1e3:.0f} GB/s")


if __name__ == "__main__":
    main()
