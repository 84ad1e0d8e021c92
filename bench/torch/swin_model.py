"""PyTorch reference for the whole-model benchmark: timm's swin_tiny_patch4_window7_224 (or --model) in fp16 on the GPU, random
weights and inputs, CUDA events around each forward, warm-up, median (same method as Fusion.Bench model).
Modes: eager fp16; torch.compile (default mode); torch.compile(mode="reduce-overhead") (CUDA graphs).
Also prints the compile (cold start) time of each compiled variant at its first batch."""
import argparse
import statistics
import time

import timm
import torch


def median_ms(fn, x, warmup=5, iters=30):
    for _ in range(warmup):
        fn(x)
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn(x)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64, 128])
    p.add_argument("--modes", nargs="+", default=["eager", "compile", "reduce-overhead"])
    p.add_argument("--model", default="swin_tiny_patch4_window7_224", help="any timm model name, e.g. vit_base_patch16_224, resnet50, convnext_tiny")
    p.add_argument("--channels-last", action="store_true", help="model and inputs in channels_last memory format (what convolutional networks run fastest in)")
    args = p.parse_args()
    torch.manual_seed(0)
    model = timm.create_model(args.model, pretrained=False).cuda().half().eval()
    layout = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, timm {timm.__version__}")
    for mode in args.modes:
        fn = model if mode == "eager" else torch.compile(model, mode=None if mode == "compile" else mode)
        with torch.inference_mode():
            for batch in args.batches:
                x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=torch.float16).to(memory_format=layout)
                t0 = time.perf_counter()
                fn(x)
                torch.cuda.synchronize()
                first = time.perf_counter() - t0
                ms = median_ms(fn, x)
                print(f"timm {args.model} {'channels_last ' if args.channels_last else ''}{mode:16s} fp16 batch {batch:3d}: median {ms:8.3f} ms, {batch / ms * 1000:8.0f} images/s (first call {first:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
