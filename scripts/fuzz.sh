#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan; build/fuzz), makes
# their seed corpora and runs each for a while. Fails when any target finds
# a crash, a leak, a timeout or a broken invariant; what it found is kept
# in build/fuzz/artifacts/<target>/. See docs/fuzzing.md.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
#   FUZZ_TARGETS="mdp broker" scripts/fuzz.sh 300
#   FUZZ_CI=1 scripts/fuzz.sh 20             (what CI runs: see below)
# CI must give the same answer on every run of the same tree, so with
# FUZZ_CI=1 each target runs a fixed number of inputs (about SECONDS on the
# project's 2-core machines) from a fixed seed, on a fresh corpus: a run
# that passes here passes there. Longer runs without FUZZ_CI explore, and
# what they find is kept in tests/fuzz/regressions/ (docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
build=${FUZZ_BUILD_DIR:-build/fuzz}
jobs=${JOBS:-2}
targets=${FUZZ_TARGETS:-"mdp broker job_header hash_lists probe_image hash_media signals serve_request"}
ci=${FUZZ_CI:-0}
# Inputs per target for FUZZ_CI=1: what about 20 s ran on the project's
# machines (stat::number_of_executed_units in docs/fuzzing.md), scaled by SECONDS/20.
declare -A ci_runs=([mdp]=500000 [broker]=100000 [job_header]=400000 [hash_lists]=8000
  [probe_image]=2000000 [hash_media]=15000 [signals]=300000 [serve_request]=200000)
testdata=../shared/testdata

# The fuzz build: only the fuzz targets and the libraries they need.
nice -n 19 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DFRAMEPRINT_FUZZ=ON -DFRAMEPRINT_CUDA=OFF -DFRAMEPRINT_BUILD_TESTS=OFF -DFRAMEPRINT_BUILD_BENCHMARKS=OFF >/dev/null
nice -n 19 cmake --build "$build" -j "$jobs" --target frameprint_fuzzers

# Seed corpora: the committed seeds, plus media from the test data (small
# files as they are, and tiny re-encodings in other formats and codecs,
# which mutate far faster than the originals).
corpus=$build/corpus
seeds() {  # TARGET: the corpus folder, with the committed seeds in it
  mkdir -p "$corpus/$1"
  cp -n tests/fuzz/seeds/"$1"/* "$corpus/$1"/ 2>/dev/null || true
  echo "$corpus/$1"
}
ff() {  # a seed that cannot be made (an encoder missing) is only a warning
  nice -n 19 ffmpeg -hide_banner -loglevel error -nostdin -y "$@" || echo "fuzz.sh: no seed ${*: -1}" >&2
}
media=$build/corpus-media
if [ ! -f "$media/.done" ]; then
  mkdir -p "$media"
  if [ -d "$testdata" ]; then
    find "$testdata/pdq" "$testdata/vpdq/videos" -type f -size -64k \
      \( -name '*.png' -o -name '*.jpg' -o -name '*.webp' -o -name '*.mp4' \) -exec cp {} "$media"/ \;
    still=$testdata/pdq/images/bridge-1-original.jpg
    clip=$testdata/vpdq/videos/doorknob-hd-no-bar.mp4
  else
    echo "fuzz.sh: $testdata not found: media seeds made from tests/data only" >&2
    still=tests/data/tiny-64x48.mp4
    clip=tests/data/tiny-64x48.mp4
  fi
  cp tests/data/tiny-64x48.mp4 "$media"/
  small="scale=24:18"
  for ext in png jpg bmp tiff webp gif; do ff -i "$still" -frames:v 1 -vf "$small" "$media/still-24x18.$ext"; done
  ff -i "$still" -frames:v 1 -vf "scale=40:30,format=gray" "$media/grey-40x30.png"
  ff -i "$still" -frames:v 1 -vf "scale=40:30,format=rgba" "$media/rgba-40x30.png"
  ff -i "$still" -frames:v 1 -vf "scale=40:30,format=rgb48be" "$media/deep-40x30.png"
  clipopt=(-i "$clip" -frames:v 4 -an -vf "scale=32:24")
  ff "${clipopt[@]}" -c:v libx264 -preset ultrafast "$media/clip.mp4"
  ff "${clipopt[@]}" -c:v libx264 -preset ultrafast -metadata:s:v:0 rotate=90 "$media/clip-rotated.mp4"
  ff "${clipopt[@]}" -c:v libx265 -preset ultrafast -x265-params log-level=none "$media/clip-hevc.mkv"
  ff "${clipopt[@]}" -c:v libvpx-vp9 -deadline realtime "$media/clip-vp9.webm"
  ff "${clipopt[@]}" -c:v mpeg4 "$media/clip-mpeg4.avi"
  ff "${clipopt[@]}" -c:v ffv1 "$media/clip-ffv1.mkv"
  ff "${clipopt[@]}" -c:v mjpeg "$media/clip-mjpeg.mov"
  ff "${clipopt[@]}" -c:v libaom-av1 -cpu-used 8 "$media/clip-av1.ivf"
  ff "${clipopt[@]}" "$media/clip.gif"
  touch "$media/.done"
fi
if [ "$ci" = 1 ]; then rm -rf "$corpus"; fi  # a fresh corpus: the same start every time
for t in probe_image hash_media; do cp -n "$media"/* "$(seeds $t)"/; done
lists=$(seeds hash_lists)
if [ -d "$testdata" ]; then
  for f in "$testdata"/vpdq/reference/*.txt; do
    { printf '\001'; head -n 20 "$f"; } >"$lists/vpdq-$(basename "$f" .txt)"
  done
  { printf '\000'; cut -d, -f3 "$testdata/pdq/vectors.csv" | tail -n +2 | head -n 20; } >"$lists/pdq-vectors"
fi
for t in mdp broker job_header signals serve_request; do seeds $t >/dev/null; done

# Each target in turn. Inputs it finds interesting are added to its corpus
# (kept between runs); a crash input goes to artifacts/<target>/.
failed=()
for t in $targets; do
  mkdir -p "$build/artifacts/$t"
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  bound=(-max_total_time="$seconds")
  if [ "$ci" = 1 ]; then
    # A fixed seed and count; the time bound (4x) only guards a much slower machine.
    bound=(-seed=1 -runs=$((${ci_runs[$t]} * seconds / 20)) -max_total_time=$((seconds * 4)))
    echo "fuzz.sh: $t, ${bound[1]#-runs=} inputs from seed 1"
  else
    echo "fuzz.sh: $t for ${seconds}s"
  fi
  if ! OPENCV_LOG_LEVEL=SILENT nice -n 19 "$build/bin/fuzz_$t" "$corpus/$t" "${dict[@]}" \
      "${bound[@]}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t/" >"$build/fuzz-$t.log" 2>&1; then
    failed+=("$t")
    echo "fuzz.sh: $t FAILED; the end of $build/fuzz-$t.log:" >&2
    tail -n 40 "$build/fuzz-$t.log" >&2
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
    "$build/fuzz-$t.log" | sed "s/^/  $t /" || true
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: ${failed[*]} found problems; inputs in $build/artifacts/" >&2
  exit 1
fi
if [ "$ci" = 1 ]; then
  echo "fuzz.sh: no crash in $targets (fixed seed and input counts)"
else
  echo "fuzz.sh: no crash in $targets (${seconds}s each)"
fi
