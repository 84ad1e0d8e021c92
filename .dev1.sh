#!/bin/bash
# Int8 plan on the H200: GPU tests, the accuracy export and test, then timings. Logs under $OUT.
REPO=$(pwd)
set -x
mkdir -p /tmp/b && tar -xJf .bundle/fusion-gpu.tar.xz -C /tmp/b
cd /tmp/b/fusion-gpu
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu --format=csv > $OUT/gpu.txt 2>&1
export FUSION_REQUIRE_CUDA=1 FUSION_KERNEL_CACHE=/tmp/kc1
t0=$(date +%s)
./Fusion.Cuda.Tests -class Fusion.Cuda.Tests.Int8PlanGpuTests -class Fusion.Cuda.Tests.Int8GemmTemplateTests -class Fusion.Cuda.Tests.EveryOperatorGpuTests > $OUT/gpu_tests.log 2>&1
echo "gpu tests rc=$? $(( $(date +%s) - t0 )) s" >> $OUT/steps.log
(cd $REPO/samples/SwinTiny/python && python3 export_int8_eval.py --out /tmp/int8eval) > $OUT/export.log 2>&1
echo "export rc=$? $(( $(date +%s) - t0 )) s" >> $OUT/steps.log
FUSION_INT8_DIR=/tmp/int8eval FUSION_INT8_REPORT=$OUT/int8_accuracy.txt ./Fusion.SwinTiny.Tests -class Fusion.SwinTiny.Tests.Int8AccuracyTests > $OUT/accuracy.log 2>&1
echo "accuracy rc=$? $(( $(date +%s) - t0 )) s" >> $OUT/steps.log
