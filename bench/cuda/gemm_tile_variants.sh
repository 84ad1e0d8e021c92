#!/usr/bin/env bash
# Builds bench/cuda/gemm_tile_variants.cu with nvcc and runs it in DIR, the folder `Fusion.Bench gemm-sources DIR` wrote (GPU machine;
# no .NET needed once the sources are there). The table goes to stdout. Extra arguments (TAG [TILE]) pass to the harness.
#   ./Fusion.Bench gemm-sources /tmp/g && bash bench/cuda/gemm_tile_variants.sh /tmp/g > tiles.md
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:?the sources folder}
shift
nvcc -O2 -std=c++17 -arch=sm_90 "$root/bench/cuda/gemm_tile_variants.cu" -o "$dir/tile_harness" -lnvrtc -lcuda
cp "$root/src/Fusion.Kernels/Cuda/prelude.cuh" "$root/src/Fusion.Kernels/Cuda/generated.cuh" "$dir/"
cd "$dir" && ./tile_harness "$@"
