#!/usr/bin/env bash
# The GPU machine's host CPU (issue 19): Swin-T, ResNet-50 and ConvNeXt-T against PyTorch and ONNX Runtime in the same call,
# ResNet-50's per-kernel profile, and the GEMM against the FMA peak (bracketed: two calls a rep, the first after the workers have
# slept, the second with them awake), with the JIT's tiering on and off.
# Build the bundle first (scripts/gpu-bundle.sh), then through the device tool: `bash scripts/cpu-host-pending.sh` with carry
# [".bundle/fusion-gpu.tar.xz"]; the results land in $OUT/cpu.txt.
set -u
start=$(date +%s)
root=$PWD
mkdir -p /tmp/b && { [ -x /tmp/b/fusion-gpu/fusion-run ] || tar -C /tmp/b -xJf .bundle/fusion-gpu.tar.xz; }
cd /tmp/b/fusion-gpu
log=$OUT/cpu.txt
t() { echo "== $* ($(( $(date +%s) - start )) s, $(date +%T))" >> $log; }
lscpu | grep -E "Model name|^CPU\(s\)|Thread|L2|L3" > $log
t fusion
for b in 1 8; do echo "## swin-t b$b"; timeout 60 ./fusion-run swin-t --device cpu --batch $b --warmup 5 --iters 20 2>&1 | tail -1; done >> $log 2>&1
for m in resnet-50 convnext-t; do echo "## $m b1"; timeout 60 ./fusion-run $m --device cpu --batch 1 --warmup 3 --iters 10 2>&1 | tail -1; done >> $log 2>&1
timeout 60 ./fusion-run resnet-50 --device cpu --batch 1 --warmup 3 --iters 5 --profile 2>&1 | grep -A14 "^profile" >> $log
t torch
timeout 150 python3 $root/bench/cpu/swin_cpu.py --iters 20 2>&1 | grep -E "^(cpu|pytorch|ort)" >> $log
for m in resnet50 convnext_tiny; do timeout 80 python3 $root/bench/cpu/swin_cpu.py --model $m --batches 1 --iters 10 2>&1 | grep -E "^(pytorch|ort)"; done >> $log 2>&1
t bracketed
timeout 120 ./Fusion.Bench cpu bracketed 9 2>&1 | grep -E "^gemm|^\|" >> $log
t tiering-off
DOTNET_TieredCompilation=0 timeout 120 ./Fusion.Bench cpu bracketed 9 2>&1 | grep -E "^\|" >> $log
t done
cat $log
