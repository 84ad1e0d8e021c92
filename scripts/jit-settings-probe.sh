#!/usr/bin/env bash
# The JIT's settings (environment variables) against the CPU passes of three models and a GPU run's start, two rounds
# (docs/perf.md, 2026-12-05). Build the bundle first (scripts/gpu-bundle.sh), then through the device tool with carry
# [".bundle/fusion-gpu.tar.xz"]: `bash scripts/jit-settings-probe.sh`.
cd /tmp/b/fusion-gpu 2>/dev/null || { mkdir -p /tmp/b && tar -C /tmp/b -xJf .bundle/fusion-gpu.tar.xz && cd /tmp/b/fusion-gpu; }
export FUSION_KERNEL_CACHE=/tmp/kc_j
timeout 60 ./fusion-run swin-t --device cuda --batch 1 --warmup 0 --iters 1 > /dev/null 2>&1   # fills the kernel cache
for r in 1 2; do
  for v in x DOTNET_TC_QuickJitForLoops=0 DOTNET_TC_QuickJit=0 DOTNET_TieredPGO=0 "DOTNET_TieredPGO=0 DOTNET_TC_QuickJitForLoops=0"; do
    echo "## $v round $r"
    e=""; [ "$v" = x ] || e="$v"
    for run in "swin-t 1 5 20" "resnet-50 1 3 20" "convnext-t 1 3 20"; do
      set -- $run
      env $e timeout 60 ./fusion-run $1 --device cpu --batch $2 --warmup $3 --iters $4 2>&1 | grep -E "^iter|^wall" | awk -v m=$1 'BEGIN{printf "%s: ", m} {printf "%s ", $(NF-1)} END {print ""}'
    done
    for i in 1 2; do /usr/bin/time -f "gpu warm start: process %e s" env $e timeout 60 ./fusion-run swin-t --device cuda --batch 1 --warmup 0 --iters 1 2>&1 | grep -E "^process|^gpu|^load|^prep" | tr '\n' ' '; echo; done
  done
done
