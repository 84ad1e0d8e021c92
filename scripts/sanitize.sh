#!/usr/bin/env bash
# Runs Fusion's kernels under compute-sanitizer (memcheck, initcheck, racecheck, synccheck) and prints one table:
# tool, kernels covered, errors in Fusion's kernels, errors in third-party kernels (cuBLASLt's nvjet_* and others).
# Run from the unpacked GPU bundle folder (scripts/gpu-bundle.sh copies this script and sanitize_table.py there):
#   bash sanitize.sh [OUT_DIR [TOOL...]]        (default: all four tools; SANITIZE_TIMEOUT seconds per run, default 900;
#                                                SANITIZE_RUNS an extended regex of the run names to take, default all)
# Covered: whole Swin-T at batch 1 and 3 (odd) with cuBLASLt GEMMs, batch 3 with the generated GEMM template
# (FUSION_GEMM=generated), the Swin blocks model, ResNet-50 (both GEMM paths: the implicit-GEMM convolutions) and ConvNeXt-T
# at batch 3 (the strided depthwise kernels), and the CUDA test classes that run every operator, every generated
# kernel of the test models, every fused pattern and every convolution operator. FUSION_LAUNCH_LOG records which kernels ran. Under initcheck
# every run uses the generated GEMM (see below); cuBLASLt's own findings are reproduced without Fusion (repro-*).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/sanitize-out}"
shift || true
tools=("$@")
[ ${#tools[@]} -eq 0 ] && tools=(memcheck initcheck racecheck synccheck)
limit="${SANITIZE_TIMEOUT:-900}"
mkdir -p "$out"
export FUSION_KERNEL_CACHE="${FUSION_KERNEL_CACHE:-/tmp/fusion-sanitize-cache}"
export FUSION_REQUIRE_CUDA=1
runs=(
  "swin-t-b1|./fusion-run swin-t --device cuda --batch 1 --warmup 0 --iters 1"
  "swin-t-b3|./fusion-run swin-t --device cuda --batch 3 --warmup 0 --iters 1"
  "swin-t-b3-generated-gemm|env FUSION_GEMM=generated ./fusion-run swin-t --device cuda --batch 3 --warmup 0 --iters 1"
  "swin-blocks-b3|./fusion-run swin-blocks --device cuda --batch 3 --warmup 0 --iters 1"
  "cuda-tests|./Fusion.Cuda.Tests -class Fusion.Cuda.Tests.EveryOperatorGpuTests -class Fusion.Cuda.Tests.GeneratedKernelGpuTests -class Fusion.Cuda.Tests.FusedKernelTests -class Fusion.Cuda.Tests.CompiledAttentionGpuTests"
  "resnet-50-b3|./fusion-run resnet-50 --device cuda --batch 3 --warmup 0 --iters 1"
  "resnet-50-b3-generated-gemm|env FUSION_GEMM=generated ./fusion-run resnet-50 --device cuda --batch 3 --warmup 0 --iters 1"
  "convnext-t-b3|./fusion-run convnext-t --device cuda --batch 3 --warmup 0 --iters 1"
  "convnet-tests|./Fusion.Cuda.Tests -class Fusion.Cuda.Tests.CompiledConvNetGpuTests"
)
# cuBLASLt alone, for the third-party findings, listed apart from the table (repro-*): cublaslt_alone.cu (Swin-T's linear
# layers at batch 3 through cuBLASLt configured as Fusion configures it; built where nvcc is) under every tool, and
# PyTorch's fp16 matmul (the same nvjet kernels) where torch imports.
repro="$here/initcheck_cublaslt_repro.py"
cd "$here"
alone=""
if command -v nvcc > /dev/null && [ -f "$here/cublaslt_alone.cu" ]; then
  nvcc -O2 -arch=sm_90 -o "$out/cublaslt_alone" "$here/cublaslt_alone.cu" -lcublasLt > "$out/cublaslt_alone-build.txt" 2>&1 && alone="$out/cublaslt_alone"
fi
set -f # the commands below are split into words, never globbed (test filters hold '*')
for tool in "${tools[@]}"; do
  for entry in "${runs[@]}"; do
    name="${entry%%|*}"; command="${entry#*|}"
    [[ "$name" =~ ${SANITIZE_RUNS:-.} ]] || continue
    # initcheck does not see what cuBLASLt's Hopper kernels write (TMA bulk stores: repro below), so every read of a
    # cuBLASLt output would be reported as uninitialised; under initcheck the GEMMs are Fusion's generated template.
    [ "$tool" = initcheck ] && command="env FUSION_GEMM=generated ${command#env FUSION_GEMM=generated }"
    # The conv-net tests that pass a cuBLASLt or fast-run policy themselves (FUSION_GEMM does not override an explicit policy).
    [ "$tool" = initcheck ] && [ "$name" = convnet-tests ] && command="$command -method- *ThroughCublasLt* -method- *InAWideTile*"
    log="$out/$tool-$name"
    rm -f "$log.launches"
    FUSION_LAUNCH_LOG="$log.launches" timeout "$limit" compute-sanitizer --tool "$tool" --print-limit 100000 $command > "$log.txt" 2>&1
    echo "exit=$?" >> "$log.txt"
    echo "$tool $name: $(tail -n 1 "$log.txt"), $(grep -c . "$log.launches" 2>/dev/null || echo 0) kernels"
  done
  [ -n "${SANITIZE_RUNS:-}" ] && continue # a chosen subset of runs: no cuBLASLt reproductions
  if [ -n "$alone" ]; then
    timeout "$limit" compute-sanitizer --tool "$tool" --print-limit 100000 "$alone" 3 > "$out/repro-$tool-cublaslt-alone.txt" 2>&1
    echo "exit=$?" >> "$out/repro-$tool-cublaslt-alone.txt"
  fi
  if [ -f "$repro" ] && python3 -c "import torch" 2>/dev/null; then
    timeout "$limit" compute-sanitizer --tool "$tool" --print-limit 1000 python3 "$repro" > "$out/repro-$tool-cublaslt.txt" 2>&1
    echo "exit=$?" >> "$out/repro-$tool-cublaslt.txt"
  fi
done
python3 "$here/sanitize_table.py" "$out"
