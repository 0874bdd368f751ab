#!/usr/bin/env bash
# The default mode (one hash a second) against decoding every frame (issue 9).
#   benchmarks/sampled_vs_decode.sh [RUNS]
# Makes, with the ffmpeg program, a 10 s 1080p H.264 clip like an upload
# (x264 High, -preset faster -crf 23 -bf 3: B-pyramid, mostly B-frames) from
# the shared doorknob video, then prints the median user+sys CPU seconds of
#   ffmpeg -threads 1 -i clip -f null -                    (decode every frame)
#   ffmpeg -threads 1 -skip_frame noref -i clip -f null -  (decode references only)
#   frameprint hash --device cpu clip                       (default: 1 hash/s)
#   frameprint hash --device cpu --seconds-per-hash 0 clip  (every frame)
#   frameprint hash --device cpu --list vpdq:L clip         (default with a list: also hashed
#                                      for matching: frames decoded anyway, up to 10 a second,
#                                      and one every 0.5 s at least)
#   the same with --match-seconds-per-hash 0.25 --match-decoded-fps 0 (the previous default)
#   the same with --match-seconds-per-hash 0                (every frame)
# each command once per run, round-robin, and the ratios to the first
# (target for the default and with a list: <= 0.70).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
bin=${FRAMEPRINT:-build/bin/frameprint}
src=../shared/testdata/vpdq/videos/doorknob-hd-no-bar.mp4
[ -x "$bin" ] || { echo "build first: $bin missing" >&2; exit 1; }
[ -f "$src" ] || { echo "no shared test video: $src" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
clip=$dir/clip.mp4
ffmpeg -hide_banner -loglevel error -stream_loop -1 -i "$src" -t 10 -r 30 \
  -vf scale=1920:1080 -c:v libx264 -profile:v high -preset faster -crf 23 -bf 3 -an "$clip"

cpu_seconds() {  # runs "$@" and prints the user+sys CPU seconds it used
  local t
  t=$( { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 )
  awk '{ printf "%.3f\n", $1 + $2 }' <<<"$t"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

types=$(ffprobe -v error -select_streams v:0 -show_entries frame=pict_type -of default=nw=1:nk=1 "$clip" | tr -cd 'IPB\n' | sort | uniq -c | awk '{ printf "%s%d %s", (NR > 1 ? ", " : ""), $1, $2 }')
hashes=$("$bin" hash --device cpu --format vpdq "$clip" | wc -l)
"$bin" hash --device cpu --format vpdq "$clip" > "$dir/listed.txt" 2>/dev/null
L=(--list vpdq:"$dir/listed.txt")
# Round-robin: each run times every command once, so that a machine
# that slows down for a while weighs on all of them alike.
commands=(
  "all|ffmpeg -hide_banner -loglevel error -threads 1 -i $clip -f null -"
  "noref|ffmpeg -hide_banner -loglevel error -threads 1 -skip_frame noref -i $clip -f null -"
  "fp|$bin hash --device cpu $clip"
  "every|$bin hash --device cpu --seconds-per-hash 0 $clip"
  "listed|$bin hash --device cpu ${L[*]} $clip"
  "listed_old|$bin hash --device cpu ${L[*]} --match-seconds-per-hash 0.25 --match-decoded-fps 0 $clip"
  "listed0|$bin hash --device cpu ${L[*]} --match-seconds-per-hash 0 $clip"
)
for _ in $(seq "$runs"); do
  for c in "${commands[@]}"; do
    # shellcheck disable=SC2086
    cpu_seconds ${c#*|} >> "$dir/t.${c%%|*}"
  done
done
for c in "${commands[@]}"; do
  declare "${c%%|*}=$(median < "$dir/t.${c%%|*}")"
done
awk -v all="$all" -v noref="$noref" -v fp="$fp" -v every="$every" -v listed="$listed" -v listed0="$listed0" -v listed_old="$listed_old" -v t="$types" -v h="$hashes" -v r="$runs" 'BEGIN {
  printf "clip: 10 s 1920x1080 H.264 High (%s), median of %d runs, CPU seconds\n", t, r
  printf "ffmpeg -threads 1 decode every frame       : %.3f s  1.00x\n", all
  printf "ffmpeg -threads 1 -skip_frame noref        : %.3f s  %.2fx\n", noref, noref / all
  printf "frameprint hash --device cpu (default, %2d hashes): %.3f s  %.2fx (target <= 0.70)\n", h, fp, fp / all
  printf "frameprint hash --device cpu --seconds-per-hash 0 : %.3f s  %.2fx\n", every, every / all
  printf "frameprint hash --device cpu --list L (default: frames decoded anyway, up to 10/s, and one every 0.5 s): %.3f s  %.2fx (target <= 0.70)\n", listed, listed / all
  printf "frameprint hash --device cpu --list L --match-seconds-per-hash 0.25 --match-decoded-fps 0 (the previous default): %.3f s  %.2fx\n", listed_old, listed_old / all
  printf "frameprint hash --device cpu --list L --match-seconds-per-hash 0: %.3f s  %.2fx\n", listed0, listed0 / all
}'
