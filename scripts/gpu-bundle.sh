#!/usr/bin/env bash
# Publishes the test executables, the sample and the benchmark self-contained for linux-x64 into
# one folder and packs it as .bundle/fusion-gpu.tar.xz, so they run on a GPU machine that has
# the NVIDIA driver and CUDA libraries but no .NET. One folder means one copy of the runtime.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.bundle/fusion-gpu"
rm -rf "$out"
mkdir -p "$out"
for project in tests/Fusion.Cuda.Tests tests/Fusion.Runtime.Tests tests/Fusion.SwinTiny.Tests tests/Fusion.ViT.Tests tests/Fusion.ConvNets.Tests tests/Fusion.Run.Tests samples/SwinTiny samples/ViT samples/ResNet50 samples/ConvNeXtTiny bench/Fusion.Bench bench/Fusion.CpuBench tools/FusionRun; do
  echo "publishing $project"
  dotnet publish "$root/$project" -c Release -r linux-x64 --self-contained true \
    -p:PublishSingleFile=false -p:PublishTrimmed=false -p:DebugType=none -o "$out" --nologo -v quiet
done
cp "$root/scripts/sanitize.sh" "$root/scripts/sanitize_table.py" "$root/scripts/initcheck_cublaslt_repro.py" "$root/scripts/cublaslt_alone.cu" "$out/"
# Packed beside the archive and renamed over it, so the archive a device call carries meanwhile stays whole.
tar -C "$root/.bundle" -cf - fusion-gpu | xz -9 -T0 > "$root/.bundle/fusion-gpu.tar.xz.partial"
mv "$root/.bundle/fusion-gpu.tar.xz.partial" "$root/.bundle/fusion-gpu.tar.xz"
ls -l "$root/.bundle/fusion-gpu.tar.xz"
