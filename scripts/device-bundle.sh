#!/usr/bin/env bash
# Packs what a run on the lent GPU machine needs into .device/ (ignored by
# git; name it in the device tool's `carry`): a lean CUDA build of the
# programs, GPU tests and benchmarks (FRAMEPRINT_IMAGES=OFF: no OpenCV, whose
# dependency tree alone is ~80 MB compressed), and the shared libraries they
# load that are not part of the base system, as one .tar.xz.
#   scripts/device-bundle.sh            # builds in build-device/, writes .device/frameprint.tar.xz
# On the device, everything in one call (device tool, carry [".device"]):
#   bash scripts/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-device
out=.device
programs="frameprint frameprint-broker frameprint-worker frameprint_gpu_tests frameprint_bench_gpu frameprint_bench_pdq frameprint_bench_match frameprint_make_clips frameprint_decode_bench"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFRAMEPRINT_CUDA=ON -DFRAMEPRINT_IMAGES=OFF \
  -DFRAMEPRINT_BUILD_TESTS=ON -DFRAMEPRINT_BUILD_BENCHMARKS=ON -DFRAMEPRINT_PYTHON=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" --target $programs

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
for b in $programs; do cp "$build/bin/$b" "$stage/bin/"; done
# The shared test videos, when present, for the GPU tests (FRAMEPRINT_TESTDATA).
if [ -d ../shared/testdata/vpdq/videos ]; then
  mkdir -p "$stage/testdata/vpdq"
  cp ../shared/testdata/README.md "$stage/testdata/"
  cp -r ../shared/testdata/vpdq/videos "$stage/testdata/vpdq/"
fi
# Every library the programs load, but the C/C++ runtime and the GPU driver,
# which the device has (and must match its kernel and driver).
ldd "$stage"/bin/* | awk '/=> \// {print $3}' | sort -u |
  grep -v -E '/(libc|libm|libpthread|libdl|librt|libgcc_s|libstdc\+\+|ld-linux[^/]*|libcuda|libnvcuvid)\.so' |
  while read -r lib; do cp -L "$lib" "$stage/lib/"; done
cat > "$stage/run" <<'RUN'
#!/bin/sh
# Runs one of the bundled programs with the bundled libraries.
here=$(dirname "$(readlink -f "$0")")
prog=$1; shift
LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/bin/$prog" "$@"
RUN
chmod +x "$stage/run"
mkdir -p "$out"
tar -cJf "$out/frameprint.tar.xz" -C "$stage" .
size=$(stat -c %s "$out/frameprint.tar.xz")
echo "device-bundle: $out/frameprint.tar.xz $((size / 1048576)) MiB ($(ls "$stage/lib" | wc -l) libraries)"
[ "$size" -le $((60 * 1048576)) ] || { echo "device-bundle: over 60 MiB" >&2; exit 1; }
