"""Swin-T (or another timm model: --model resnet50, convnext_tiny) FP32 on the CPU with PyTorch and ONNX Runtime, for the
comparison in docs/perf.md (issue 19).

timm's swin_tiny_patch4_window7_224 by default (random weights: speed does not depend on them), eval mode, batch 1 and 8, every
core of the machine. PyTorch: torch.inference_mode, torch.get_num_threads() threads. ONNX Runtime: the model exported
with torch.onnx (opset 17, dynamic batch), CPUExecutionProvider, default threading, graph optimizations on.
Each: 3 warm-up passes, then the median of ITERS timed passes (wall clock around the call).
    python3 bench/cpu/swin_cpu.py [--model NAME] [--batches 1 8] [--iters 10]
"""
import argparse, os, platform, statistics, subprocess, tempfile, time

import torch
import timm


def median_ms(run, iters):
    for _ in range(3):
        run()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times), max(times)


def cpu_name():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name"))
    except Exception:
        return platform.processor()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--model", default="swin_tiny_patch4_window7_224", help="a timm model name")
    args = p.parse_args()
    print(f"cpu: {cpu_name()}, {os.cpu_count()} logical cores; torch {torch.__version__} ({torch.get_num_threads()} threads), timm {timm.__version__}")
    model = timm.create_model(args.model, pretrained=False).eval()
    print(f"model: {args.model}")
    for batch in args.batches:
        x = torch.randn(batch, 3, 224, 224)
        with torch.inference_mode():
            med, lo, hi = median_ms(lambda: model(x), args.iters)
        print(f"pytorch  fp32 batch {batch:3}: median {med:8.2f} ms (min {lo:.2f}, max {hi:.2f}, {args.iters} passes)")
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime: not installed")
        return
    path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), path, opset_version=17, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    print(f"onnxruntime {ort.__version__}, providers {session.get_providers()}")
    for batch in args.batches:
        x = torch.randn(batch, 3, 224, 224).numpy()
        med, lo, hi = median_ms(lambda: session.run(None, {"x": x}), args.iters)
        print(f"ort      fp32 batch {batch:3}: median {med:8.2f} ms (min {lo:.2f}, max {hi:.2f}, {args.iters} passes)")


if __name__ == "__main__":
    main()
