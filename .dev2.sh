#!/bin/bash
# Timings: Swin-T fp16 and int8 plans (CUDA graphs), torch.compile reduce-overhead in the same call, lowp per-shape.
REPO=$(pwd)
mkdir -p /tmp/b && [ -d /tmp/b/fusion-gpu ] || tar -xJf .bundle/fusion-gpu.tar.xz -C /tmp/b
cd /tmp/b/fusion-gpu
export FUSION_KERNEL_CACHE=/tmp/kc2
t0=$(date +%s)
./Fusion.Bench model swin-t both 1 8 64 128 > $OUT/model_bench.log 2>&1
echo "model rc=$? $(( $(date +%s) - t0 )) s" >> $OUT/steps.log
python3 $REPO/bench/torch/swin_model.py --modes reduce-overhead > $OUT/torch.log 2>&1
echo "torch rc=$? $(( $(date +%s) - t0 )) s" >> $OUT/steps.log
./Fusion.Bench lowp 64 > $OUT/lowp.log 2>&1
echo "lowp rc=$? $(( $(date +%s) - t0 )) s" >> $OUT/steps.log
