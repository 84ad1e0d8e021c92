#!/usr/bin/env bash
# The GPU machine's host CPU (issue 19), not measured since 2026-12-05 05:45: the CPU changes of the third session that day
# (constants packed once, the interpreter's window walks) on ResNet-50 and ConvNeXt-T, with Swin-T, against PyTorch and ONNX
# Runtime in the same call; the GEMM against the FMA peak (bracketed) and on the models' shapes.
# Build the bundle first (scripts/gpu-bundle.sh), then through the device tool: `bash scripts/cpu-host-pending.sh` with carry
# [".bundle/fusion-gpu.tar.xz"]; the results land in $OUT/cpu.txt.
set -u
start=$(date +%s)
root=$PWD
mkdir -p /tmp/b && [ -x /tmp/b/fusion-gpu/fusion-run ] || tar -C /tmp/b -xJf .bundle/fusion-gpu.tar.xz
cd /tmp/b/fusion-gpu
log=$OUT/cpu.txt
t() { echo "== $* ($(( $(date +%s) - start )) s)" >> $log; }
lscpu | grep -E "Model name|^CPU\(s\)|Thread|L2|L3" > $log
t gemm
timeout 120 ./Fusion.Bench cpu bracketed 9 >> $log 2>&1
timeout 60 ./Fusion.Bench cpu shapes >> $log 2>&1
t fusion
for b in 1 8; do timeout 60 ./fusion-run swin-t --device cpu --batch $b --warmup 5 --iters 20 2>&1 | tail -3; done >> $log 2>&1
for m in resnet-50 convnext-t; do timeout 60 ./fusion-run $m --device cpu --batch 1 --warmup 3 --iters 10 2>&1 | tail -3; done >> $log 2>&1
t torch
timeout 150 python3 $root/bench/cpu/swin_cpu.py --iters 20 >> $log 2>&1
for m in resnet50 convnext_tiny; do timeout 90 python3 $root/bench/cpu/swin_cpu.py --model $m --batches 1 --iters 10 2>&1 | grep -v -i warn; done >> $log 2>&1
t tiering
# The one-core GEMM has run at 75-80 % for a few reps and then at 26-50 % with the FMA peak around it steady: the same bracket
# with the JIT's tiering off (fully optimized code from the first call, no profile-guided rejit) tells whether the code changes.
[ $(( $(date +%s) - start )) -lt 400 ] && { echo "## DOTNET_TieredCompilation=0"; DOTNET_TieredCompilation=0 timeout 80 ./Fusion.Bench cpu bracketed 9; } >> $log 2>&1
# Tiering on but no profile-guided rejit: tells a slower Tier1-with-PGO body from the rejit itself.
[ $(( $(date +%s) - start )) -lt 480 ] && { echo "## DOTNET_TieredPGO=0"; DOTNET_TieredPGO=0 timeout 80 ./Fusion.Bench cpu bracketed 9; } >> $log 2>&1
t done
tail -60 $log
