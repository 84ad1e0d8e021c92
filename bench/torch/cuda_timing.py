"""Shared timing for the PyTorch reference benchmarks: CUDA events around each call, warm-up first, median."""
import statistics
import torch


def median_us(fn, sets, warmup=10, iters=100):
    """Median microseconds of fn(*sets[i % len(sets)]) over iters timed calls (rotating input sets)."""
    for i in range(warmup):
        fn(*sets[i % len(sets)])
    torch.cuda.synchronize()
    times = []
    for i in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        args = sets[i % len(sets)]
        start.record()
        fn(*args)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1000)
    return statistics.median(times)
