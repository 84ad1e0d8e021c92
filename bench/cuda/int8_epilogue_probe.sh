#!/usr/bin/env bash
# Builds bench/cuda/int8_epilogue_probe.cu with nvcc and runs it in DIR, the folder int8_epilogue_probe.py wrote (GPU machine; no
# .NET needed once the sources are there). The table goes to stdout, NVRTC's ptxas reports (registers, spills) to stderr.
#   python3 bench/cuda/int8_epilogue_probe.py samples/SwinTiny/obj/Release/net10.0/generated/…/SwinTiny.Model.SwinTransformerTiny.Fusion.g.cs /tmp/p \
#     && bash bench/cuda/int8_epilogue_probe.sh /tmp/p > table.md 2> ptxas.log
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:?the variants folder}
nvcc -O2 -std=c++17 -arch=sm_90 -I "$root/bench/cuda" "$root/bench/cuda/int8_epilogue_probe.cu" -o "$dir/probe" -lnvrtc -lcuda -lcublasLt -lpthread
cd "$dir" && ./probe
