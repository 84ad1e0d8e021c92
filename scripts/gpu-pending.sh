#!/usr/bin/env bash
# GPU checks written on 2026-12-05 and not yet run (loans were paused): the last cast to io in cuBLASLt's epilogue (ToIo), the
# int8 epilogue's second output on the GPU (NVRTC and ILGPU), Swin-T's parity with timm and its time, int8 ResNet-50 / ConvNeXt-T.
# Build the bundle first (scripts/gpu-bundle.sh), then through the device tool: run `bash scripts/gpu-pending.sh` with carry
# [".bundle/fusion-gpu.tar.xz"]; results land in $OUT (log.txt, tests.txt, parity.txt, swin.txt, int8.txt).
set -u
start=$(date +%s)
root=$PWD
rm -rf /tmp/b; mkdir -p /tmp/b && tar -C /tmp/b -xJf .bundle/fusion-gpu.tar.xz
cd /tmp/b/fusion-gpu
export FUSION_KERNEL_CACHE=/tmp/kcache5
log=$OUT/log.txt
t() { echo "== $* ($(( $(date +%s) - start )) s)" >> $log; }
left() { echo $(( 560 - ($(date +%s) - start) )); }
nvidia-smi --query-gpu=name,clocks.sm,power.draw --format=csv > $log 2>&1
t tests
FUSION_REQUIRE_CUDA=1 timeout 150 ./Fusion.Cuda.Tests -class Fusion.Cuda.Tests.FusedGemmTests -class Fusion.Cuda.Tests.IlgpuGemmGpuTests \
  -class Fusion.Cuda.Tests.Int8PlanGpuTests -class Fusion.Cuda.Tests.CompiledConvNetGpuTests -class Fusion.Cuda.Tests.GeneratedKernelGpuTests > $OUT/tests.txt 2>&1
echo "exit $?" >> $OUT/tests.txt
t parity
( timeout 100 python3 $root/samples/SwinTiny/python/export_timm.py --out /tmp/parity > $OUT/parity.txt 2>&1 \
  && FUSION_PARITY_DIR=/tmp/parity FUSION_REQUIRE_CUDA=1 timeout 80 ./Fusion.SwinTiny.Tests -class Fusion.SwinTiny.Tests.TimmParityTests >> $OUT/parity.txt 2>&1 ); echo "exit $?" >> $OUT/parity.txt
t swin
{
for b in 1 8 64; do
  [ $(left) -gt 200 ] || break
  echo "## swin-t b$b"; timeout 60 ./fusion-run swin-t --device cuda --batch $b --fast-run --graphs --warmup 20 --iters 200 2>&1 | grep -E "^(wall|device):"
done
} > $OUT/swin.txt 2>&1
t int8
{
for m in resnet-50 convnext-t; do
  [ $(left) -gt 60 ] || break
  echo "## $m int8"; timeout $(( $(left) / 2 )) ./fusion-run $m --device cuda --precision int8 --batch 64 --fast-run --graphs --warmup 5 --iters 50 2>&1 | grep -E "^(load|wall|device|memory):"
done
} > $OUT/int8.txt 2>&1
t done
grep -E "\[FAIL\]|Total:|exit" $OUT/tests.txt $OUT/parity.txt | tail -12
cat $log $OUT/swin.txt $OUT/int8.txt
