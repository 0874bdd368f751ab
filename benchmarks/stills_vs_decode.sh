#!/usr/bin/env bash
# Still images: hashing a directory against OpenCV decoding it (issue 10).
#   benchmarks/stills_vs_decode.sh [RUNS] [COPIES]
# Builds three directories from the shared JPEG photos (pdq/images/*.jpg):
# the JPEGs themselves, and PNG and WebP (lossy, quality 90) conversions made
# with the ffmpeg program, each file copied COPIES times (default 10). For
# each directory it prints the median user+sys CPU seconds of RUNS runs
# (default 7) of
#   frameprint_decode_images DIR          (cv::imdecode to full-resolution colour, one thread)
#   frameprint hash --device cpu DIR      (the default still path)
#   frameprint hash --device cpu --exact DIR   (the reference path)
#   frameprint hash --device cpu --list pdq:L DIR  (the default path, hashed for matching:
#                                                  dihedral and unpadded hashes)
# and each hash's ratio to the decode (target for JPEG, default: <= 0.55).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
copies=${2:-10}
bin=${FRAMEPRINT:-build/bin/frameprint}
decode=${DECODE_IMAGES:-build/bin/frameprint_decode_images}
src=../shared/testdata/pdq/images
[ -x "$bin" ] || { echo "build first: $bin missing" >&2; exit 1; }
[ -x "$decode" ] || { echo "build first: $decode missing" >&2; exit 1; }
compgen -G "$src/*.jpg" >/dev/null || { echo "no shared test images in $src" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/one" "$work/jpeg" "$work/png" "$work/webp"
for f in "$src"/*.jpg; do
  stem=$(basename "$f" .jpg)
  cp "$f" "$work/one/$stem.jpg"
  ffmpeg -hide_banner -loglevel error -i "$f" -frames:v 1 "$work/one/$stem.png"
  ffmpeg -hide_banner -loglevel error -i "$f" -frames:v 1 -c:v libwebp -quality 90 "$work/one/$stem.webp"
done
for k in $(seq -w 1 "$copies"); do
  for ext in jpeg:jpg png:png webp:webp; do
    for f in "$work/one"/*."${ext#*:}"; do cp "$f" "$work/${ext%%:*}/$k-$(basename "$f")"; done
  done
done

cpu_seconds() {  # runs "$@" and prints the user+sys CPU seconds it used
  local t
  t=$( { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 )
  awk '{ printf "%.3f\n", $1 + $2 }' <<<"$t"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); runs: $runs (median CPU = user+sys)"
for set in jpeg png webp; do
  dir=$work/$set
  n=$(ls "$dir" | wc -l)
  "$decode" "$dir" >/dev/null || { echo "decode failed on $set" >&2; exit 1; }
  [ "$("$bin" hash --device cpu "$dir" | grep -c '"status":"ok"')" = "$n" ] || { echo "hash failed on $set" >&2; exit 1; }
  # Interleaved, so that load from others on the machine hits all three alike.
  : >"$work/t.dec"; : >"$work/t.fast"; : >"$work/t.exact"; : >"$work/t.list"
  echo "0000000000000000000000000000000000000000000000000000000000000000,none" >"$work/list.txt"
  for _ in $(seq "$runs"); do
    cpu_seconds "$decode" "$dir" >>"$work/t.dec"
    cpu_seconds "$bin" hash --device cpu "$dir" >>"$work/t.fast"
    cpu_seconds "$bin" hash --device cpu --exact "$dir" >>"$work/t.exact"
    cpu_seconds "$bin" hash --device cpu --list pdq:"$work/list.txt" "$dir" >>"$work/t.list"
  done
  dec=$(median <"$work/t.dec"); fast=$(median <"$work/t.fast"); exact=$(median <"$work/t.exact")
  list=$(median <"$work/t.list")
  awk -v s="$set" -v n="$n" -v d="$dec" -v f="$fast" -v e="$exact" -v l="$list" 'BEGIN {
    printf "%-5s %4d files: decode %.3f s (%.2f ms/file) | hash %.3f s (%.2f ms/file, ratio %.2f) | hash --exact %.3f s (%.2f ms/file, ratio %.2f) | hash --list %.3f s (ratio %.2f)\n",
      s, n, d, 1000 * d / n, f, 1000 * f / n, f / d, e, 1000 * e / n, e / d, l, l / d
  }'
done
