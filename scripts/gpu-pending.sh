#!/usr/bin/env bash
# GPU checks not yet run (loans were paused or refused): the programmatic-launch probe (bench/cuda/pdl_probe.cu); the GPU tests of
# the last cast to io in cuBLASLt's epilogue (ToIo), the int8 epilogue's second output, programmatic dependent launch
# (ProgrammaticLaunchTests) and graphs; Swin-T's parity with timm; Swin-T's time with FUSION_PDL off and on, alternating, at batch
# 1 / 8 / 64; the batch-1 profile; int8 ResNet-50 / ConvNeXt-T if time is left.
# Build the bundle first (scripts/gpu-bundle.sh), then through the device tool: run `bash scripts/gpu-pending.sh` with carry
# [".bundle/fusion-gpu.tar.xz"]; results land in $OUT (log.txt, pdl.txt, tests.txt, parity.txt, swin.txt, profile.txt, int8.txt).
set -u
start=$(date +%s)
root=$PWD
log=$OUT/log.txt
t() { echo "== $* ($(( $(date +%s) - start )) s)" >> $log; }
left() { echo $(( ${PENDING_BUDGET_S:-560} - ($(date +%s) - start) )); }
nvidia-smi --query-gpu=name,clocks.sm,power.draw --format=csv > $log 2>&1
t probe
(nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -o /tmp/pdl_probe bench/cuda/pdl_probe.cu -lcublasLt && timeout 60 /tmp/pdl_probe) > $OUT/pdl.txt 2>&1
t unpack
rm -rf /tmp/b; mkdir -p /tmp/b && tar -C /tmp/b -xJf .bundle/fusion-gpu.tar.xz
cd /tmp/b/fusion-gpu
export FUSION_KERNEL_CACHE=/tmp/kcache5
t tests
FUSION_REQUIRE_CUDA=1 timeout 170 ./Fusion.Cuda.Tests -class Fusion.Cuda.Tests.ProgrammaticLaunchTests -class Fusion.Cuda.Tests.CudaGraphTests \
  -class Fusion.Cuda.Tests.FusedGemmTests -class Fusion.Cuda.Tests.IlgpuGemmGpuTests -class Fusion.Cuda.Tests.Int8PlanGpuTests \
  -class Fusion.Cuda.Tests.CompiledConvNetGpuTests -class Fusion.Cuda.Tests.GeneratedKernelGpuTests > $OUT/tests.txt 2>&1
echo "exit $?" >> $OUT/tests.txt
t parity
( timeout 100 python3 $root/samples/SwinTiny/python/export_timm.py --out /tmp/parity > $OUT/parity.txt 2>&1 \
  && FUSION_PARITY_DIR=/tmp/parity FUSION_REQUIRE_CUDA=1 timeout 80 ./Fusion.SwinTiny.Tests -class Fusion.SwinTiny.Tests.TimmParityTests \
     -class Fusion.SwinTiny.Tests.SwinBlockGpuTests >> $OUT/parity.txt 2>&1 ); echo "exit $?" >> $OUT/parity.txt
t swin
{
for b in 1 8 64; do
  for round in 1 2; do
    for pdl in off on; do
      [ $(left) -gt 120 ] || break 3
      echo "## swin-t b$b FUSION_PDL=$pdl round $round"
      FUSION_PDL=$pdl timeout 60 ./fusion-run swin-t --device cuda --batch $b --fast-run --graphs --warmup 20 --iters 300 2>&1 | grep -E "^(wall|device):"
    done
  done
done
} > $OUT/swin.txt 2>&1
t profile
[ $(left) -gt 90 ] && timeout 40 ./fusion-run swin-t --device cuda --batch 1 --fast-run --graphs --profile --warmup 5 --iters 20 > $OUT/profile.txt 2>&1
t int8
{
for m in resnet-50 convnext-t; do
  [ $(left) -gt 60 ] || break
  echo "## $m int8"; timeout $(( $(left) / 2 )) ./fusion-run $m --device cuda --precision int8 --batch 64 --fast-run --graphs --warmup 5 --iters 50 2>&1 | grep -E "^(load|wall|device|memory):"
done
} > $OUT/int8.txt 2>&1
t done
cat $OUT/pdl.txt
grep -E "\[FAIL\]|Total:|exit" $OUT/tests.txt $OUT/parity.txt | tail -12
cat $log $OUT/swin.txt $OUT/int8.txt
