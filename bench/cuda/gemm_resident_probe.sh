#!/usr/bin/env bash
# Builds bench/cuda/gemm_resident_probe.cu with nvcc and runs it in DIR, the folder gemm_resident_probe.py wrote (GPU machine; no
# .NET needed once the sources are there). The table goes to stdout, NVRTC's ptxas reports (registers, spills) to stderr.
#   python3 bench/cuda/gemm_resident_probe.py samples/SwinTiny/obj/Release/net10.0/generated/…/SwinTiny.Model.SwinTransformerTiny.Fusion.g.cs /tmp/r \
#     && bash bench/cuda/gemm_resident_probe.sh /tmp/r > table.md 2> ptxas.log
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:?the variants folder}
nvcc -O2 -std=c++17 -arch=sm_90 -I "$root/bench/cuda" "$root/bench/cuda/gemm_resident_probe.cu" -o "$dir/probe" -lnvrtc -lcuda -lcublasLt -lpthread
cd "$dir" && ./probe
