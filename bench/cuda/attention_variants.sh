#!/usr/bin/env bash
# Builds and times variants of the flash-attention template with nvcc (GPU machine, no .NET needed). Each argument is one variant:
# a space-separated list of -D flags (switches of an experimental copy of attention.cut, or -DTEMPLATE=... for another file).
# Builds run in parallel, timings one after another.
#   bash bench/cuda/attention_variants.sh "" "-DAT_MY_SWITCH=1"
# Environment: DIMS (head dims, default 64), CAUSALS (default 0), TS (sequence lengths), B, H, SCALE (pos or neg).
set -uf
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp}/attention-variants
mkdir -p "$out"
build() { # dim causal index flags
  # shellcheck disable=SC2086
  nvcc -O3 -std=c++17 -arch=sm_90 -I "$root/src/Fusion.Kernels/Cuda" -DFUSION_HEAD_DIM="$1" -DFUSION_CAUSAL="$2" -DFUSION_HAS_BIAS=0 \
    -DTEMPLATE='"Templates/attention.cut"' $4 "$root/bench/cuda/attention_variants.cu" -o "$out/attn_d$1_c$2_$3" -Xptxas -v \
    > "$out/attn_d$1_c$2_$3.build" 2>&1 || echo "build failed: d $1 causal $2 variant $3 ($4)"
}
for dim in ${DIMS:-64}; do
  for causal in ${CAUSALS:-0}; do
    i=0
    for flags in "$@"; do i=$((i + 1)); build "$dim" "$causal" "$i" "$flags" & done
  done
done
wait
for dim in ${DIMS:-64}; do
  for causal in ${CAUSALS:-0}; do
    i=0
    for flags in "$@"; do
      i=$((i + 1))
      exe="$out/attn_d${dim}_c${causal}_$i"
      echo "== d $dim causal $causal variant $i: ${flags:-defaults}"
      grep -A2 "Compiling entry function 'attention_variant'" "$exe.build" | grep -E "registers|spill" | sed 's/^ptxas info *: *//'
      [ -x "$exe" ] && "$exe" "${B:-8}" "${H:-12}" "${SCALE:-pos}" ${TS:-197 577 1024 4096}
    done
  done
done
