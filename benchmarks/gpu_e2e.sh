#!/usr/bin/env bash
# End to end on the GPU machine (issue 3 target: >= 2,500 frames/s per GPU
# for `frameprint hash --device cuda --seconds-per-hash 0` over many 1080p
# H.264 files), with the same run on the CPU beside it.
#   benchmarks/gpu_e2e.sh RUN [CLIPS [SECONDS [JOBS]]]
# RUN: how to start a program, e.g. /tmp/fp/run (the bundle's wrapper) or
# "env" for a local build on PATH (build/bin).
set -euo pipefail
run=${1:?usage: gpu_e2e.sh RUN [CLIPS [SECONDS [JOBS]]]}
clips=${2:-32}
seconds=${3:-10}
jobs=${4:-$(nproc)}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
$run frameprint_make_clips "$dir" "$clips" "$seconds"
for device in cuda cpu; do
  start=$(date +%s.%N)
  $run frameprint hash --device "$device" --seconds-per-hash 0 --jobs "$jobs" "$dir" > "$dir/$device.jsonl"
  end=$(date +%s.%N)
  frames=$(grep -o '"pdq":' "$dir/$device.jsonl" | wc -l)
  awk -v d="$device" -v n="$frames" -v a="$start" -v b="$end" -v j="$jobs" \
    'BEGIN { printf "%s: %d frames in %.2f s = %.0f frames/s (--jobs %d)\n", d, n, b - a, n / (b - a), j }'
done
