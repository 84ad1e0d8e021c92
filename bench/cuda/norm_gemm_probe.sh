#!/usr/bin/env bash
# Builds bench/cuda/norm_gemm_probe.cu with nvcc and runs it in DIR, the folder norm_gemm_probe.py wrote (GPU machine; no .NET
# needed once the sources are there). The table goes to stdout, NVRTC's ptxas reports (registers, spills) to stderr.
#   python3 bench/cuda/norm_gemm_probe.py samples/SwinTiny/obj/Release/net10.0/linux-x64/generated/…/SwinTiny.Model.SwinTransformerTiny.Fusion.g.cs .bundle/ng
#   python3 bench/cuda/norm_gemm_probe.py samples/ViT/obj/Release/net10.0/linux-x64/generated/…/ViT.Model.VisionTransformerBase16.Fusion.g.cs .bundle/ng
#   bash bench/cuda/norm_gemm_probe.sh .bundle/ng > table.md 2> ptxas.log
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:?the variants folder}
nvcc -O2 -std=c++17 -arch=sm_90 -I "$root/bench/cuda" "$root/bench/cuda/norm_gemm_probe.cu" -o "$dir/probe" -lnvrtc -lcuda -lcublasLt -lpthread
cd "$dir" && ./probe
