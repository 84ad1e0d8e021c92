#!/bin/bash
# Per-kernel profile of Swin-T at batch 64: fp16 and int8 plans.
mkdir -p /tmp/b && rm -rf /tmp/b/fusion-gpu && tar -xJf .bundle/fusion-gpu.tar.xz -C /tmp/b
cd /tmp/b/fusion-gpu
export FUSION_KERNEL_CACHE=/tmp/kc3
./fusion-run swin-t --device cuda --batch 64 --precision fp16 --warmup 3 --iters 10 --profile > $OUT/prof_fp16.log 2>&1
echo "fp16 rc=$?" >> $OUT/steps.log
./fusion-run swin-t --device cuda --batch 64 --precision int8 --warmup 3 --iters 10 --profile > $OUT/prof_int8.log 2>&1
echo "int8 rc=$?" >> $OUT/steps.log
