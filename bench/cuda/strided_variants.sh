#!/usr/bin/env bash
# Builds bench/cuda/strided_variants.cu with nvcc and runs it in DIR, a folder of printed strided kernels (KIND__VxP.cu, written
# by the printer under each mapping), at batch N (GPU machine; no .NET needed). The table goes to stdout, NVRTC's ptxas
# reports to stderr.
#   bash bench/cuda/strided_variants.sh DIR 64 > table.md 2> ptxas.log
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:?the variants folder}
cp "$root/src/Fusion.Kernels/Cuda/prelude.cuh" "$root/src/Fusion.Kernels/Cuda/generated.cuh" "$dir/"
nvcc -O2 -std=c++17 -arch=sm_90 "$root/bench/cuda/strided_variants.cu" -o "$dir/harness" -lnvrtc -lcuda
cd "$dir" && ./harness "${2:-64}" "${3:-49}"
