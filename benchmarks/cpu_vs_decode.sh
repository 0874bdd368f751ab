#!/usr/bin/env bash
# Whole-file CPU cost of hashing every frame, against decoding alone.
#   benchmarks/cpu_vs_decode.sh [VIDEO] [RUNS]
# Prints the median user+sys CPU seconds of
#   ffmpeg -threads 1 -i VIDEO -f null -                  (decode only)
#   frameprint hash --seconds-per-hash 0 VIDEO             (decode + PDQ + MD5/SHA-256)
# and their ratio (target: <= 1.25). Default VIDEO: the shared chair-19 clip.
set -euo pipefail
cd "$(dirname "$0")/.."
video=${1:-../shared/testdata/vpdq/videos/chair-19-sd-bar.mp4}
runs=${2:-7}
bin=${FRAMEPRINT:-build/bin/frameprint}
[ -f "$video" ] || { echo "no such video: $video" >&2; exit 1; }
[ -x "$bin" ] || { echo "build first: $bin missing" >&2; exit 1; }

cpu_seconds() {  # runs "$@" and prints the user+sys CPU seconds it used
  local t
  t=$( { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 )
  awk '{ printf "%.3f\n", $1 + $2 }' <<<"$t"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

frames=$("$bin" hash --seconds-per-hash 0 --format vpdq "$video" | wc -l)
ff=$(for _ in $(seq "$runs"); do cpu_seconds ffmpeg -hide_banner -loglevel error -threads 1 -i "$video" -f null -; done | median)
fp=$(for _ in $(seq "$runs"); do cpu_seconds "$bin" hash --seconds-per-hash 0 "$video"; done | median)
awk -v ff="$ff" -v fp="$fp" -v n="$frames" -v v="$video" 'BEGIN {
  printf "video: %s (%d frames)\n", v, n
  printf "ffmpeg -threads 1 decode only : %.3f s CPU (%.3f ms/frame)\n", ff, 1000 * ff / n
  printf "frameprint hash (every frame) : %.3f s CPU (%.3f ms/frame)\n", fp, 1000 * fp / n
  printf "ratio                         : %.2f (target <= 1.25)\n", fp / ff
}'
