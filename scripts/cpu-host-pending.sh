#!/usr/bin/env bash
# The GPU machine's host CPU (issue 19), in sections so one device call can take what it needs:
# `bash scripts/cpu-host-pending.sh [section ...]` (default: all, in this order)
#   variants  the GEMM's blocking variants against each other in one process (`Fusion.Bench cpu variants 9`)
#   models    Swin-T (b1, b8), ResNet-50 and ConvNeXt-T (b1) in Fusion, ResNet-50's per-kernel profile
#   torch     the same models in PyTorch and ONNX Runtime (bench/cpu/swin_cpu.py), right after `models`
#   bracketed the GEMM against the FMA peak (two calls a rep: the first after the workers have slept, the second with them awake)
#   tiering   the same with the JIT's tiered compilation off
#   spin      Swin-T (b1, b8), ResNet-50 and ConvNeXt-T (b1) with the workers' spin at 200 µs (the old value) and the default,
#             alternating, two rounds (FUSION_CPU_SPIN_US)
# Build the bundle first (scripts/gpu-bundle.sh), then through the device tool with carry [".bundle/fusion-gpu.tar.xz"]; the
# results land in $OUT/cpu.txt.
set -u
start=$(date +%s)
root=$PWD
sections=${*:-variants models torch bracketed tiering}
mkdir -p /tmp/b && { [ -x /tmp/b/fusion-gpu/fusion-run ] || tar -C /tmp/b -xJf .bundle/fusion-gpu.tar.xz; }
cd /tmp/b/fusion-gpu
log=$OUT/cpu.txt
t() { echo "== $* ($(( $(date +%s) - start )) s, $(date +%T))" >> $log; }
lscpu | grep -E "Model name|^CPU\(s\)|Thread|L1d|L2|L3" > $log

variants() { timeout 240 ./Fusion.Bench cpu variants 9 2>&1 | grep -E "^cpu|^\|" >> $log; }
models() {
  for b in 1 8; do echo "## swin-t b$b"; timeout 60 ./fusion-run swin-t --device cpu --batch $b --warmup 5 --iters 20 2>&1 | tail -1; done >> $log 2>&1
  for m in resnet-50 convnext-t; do echo "## $m b1"; timeout 60 ./fusion-run $m --device cpu --batch 1 --warmup 3 --iters 10 2>&1 | tail -1; done >> $log 2>&1
  timeout 60 ./fusion-run resnet-50 --device cpu --batch 1 --warmup 3 --iters 5 --profile 2>&1 | grep -A14 "^profile" >> $log
}
torch() {
  timeout 150 python3 $root/bench/cpu/swin_cpu.py --iters 20 2>&1 | grep -E "^(cpu|pytorch|ort)" >> $log
  for m in resnet50 convnext_tiny; do timeout 80 python3 $root/bench/cpu/swin_cpu.py --model $m --batches 1 --iters 10 2>&1 | grep -E "^(pytorch|ort)"; done >> $log 2>&1
}
bracketed() { timeout 120 ./Fusion.Bench cpu bracketed 9 2>&1 | grep -E "^gemm|^\|" >> $log; }
spin() {
  for round in 1 2; do
    for us in 200 default; do
      for run in "swin-t 1 5 20" "swin-t 8 5 20" "resnet-50 1 3 15" "convnext-t 1 3 15"; do
        set -- $run
        echo "## $1 b$2 spin $us round $round"
        if [ $us = default ]; then env -u FUSION_CPU_SPIN_US timeout 60 ./fusion-run $1 --device cpu --batch $2 --warmup $3 --iters $4 2>&1 | tail -1
        else FUSION_CPU_SPIN_US=$us timeout 60 ./fusion-run $1 --device cpu --batch $2 --warmup $3 --iters $4 2>&1 | tail -1; fi
      done
    done
  done >> $log 2>&1
}
tiering() { DOTNET_TieredCompilation=0 timeout 120 ./Fusion.Bench cpu bracketed 9 2>&1 | grep -E "^\|" >> $log; }

for s in $sections; do
  t $s
  $s
done
t done
cat $log
