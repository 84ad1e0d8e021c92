#!/usr/bin/env bash
# Builds bench/cuda/gemm_epilogue_variants.cu with nvcc and runs it in DIR, the folder gemm_epilogue_variants.py wrote (GPU machine;
# no .NET needed once the sources are there). The table goes to stdout, NVRTC's ptxas reports (registers, spills) to stderr.
#   ./Fusion.Bench gemm-sources /tmp/g && python3 bench/cuda/gemm_epilogue_variants.py /tmp/g /tmp/v --old old.cut \
#     && bash bench/cuda/gemm_epilogue_variants.sh /tmp/v > table.md 2> ptxas.log
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:?the variants folder}
nvcc -O2 -std=c++17 -arch=sm_90 "$root/bench/cuda/gemm_epilogue_variants.cu" -o "$dir/harness" -lnvrtc -lcuda -lpthread
cd "$dir" && ./harness
