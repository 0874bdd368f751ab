#!/usr/bin/env bash
# Builds frameprint and runs the whole test suite. On a fresh machine this
# is all the set-up needed: it installs the Debian packages first.
#   scripts/test.sh            # format check, Release build in build/ + ctest,
#                              # then the asan preset (build/asan) + ctest
#   BUILD_DIR=out scripts/test.sh
#   FRAMEPRINT_SKIP_FORMAT=1   # skip scripts/check-format.sh
#   FRAMEPRINT_SKIP_ASAN=1     # skip the AddressSanitizer/UBSan build and run
#   FRAMEPRINT_SKIP_PACKAGES=1 # skip the venv install and the .deb install test
#   FRAMEPRINT_SKIP_FUZZ=1 scripts/test.sh   # without the short fuzz run
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

# Cheapest check first: a formatting slip fails in seconds, not after a build.
if [ "${FRAMEPRINT_SKIP_FORMAT:-0}" != 1 ]; then
  scripts/check-format.sh
fi

# Warnings are errors here (our code only; see FRAMEPRINT_WERROR).
# Debian's python3 (not whatever python3 is first on PATH): its numpy,
# pytest and ABI are the ones the Python package is built and tested with.
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DFRAMEPRINT_WERROR=ON \
  -DFRAMEPRINT_PYTHON=ON -DPython_EXECUTABLE=/usr/bin/python3
cmake --build "$BUILD_DIR" -j "$JOBS"
if [ ! -d ../shared/testdata ]; then
  echo "test.sh: ../shared/testdata not found: the reference-vector tests will be skipped" >&2
fi
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 900

# As users install it: the Python package into a fresh venv with pip, and
# the Debian packages with dpkg (lintian, systemd-analyze verify, the
# installed programs and module run from /usr only, then removed).
if [ "${FRAMEPRINT_SKIP_PACKAGES:-0}" != 1 ]; then
  BUILD_DIR="$BUILD_DIR" JOBS="$JOBS" scripts/python-test.sh "$BUILD_DIR/venv"
  scripts/package-test.sh "$BUILD_DIR"
fi

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (CMakePresets.json: build/asan, CPU only; sanitizer options and the
# LeakSanitizer suppressions come with the build and test presets).
if [ "${FRAMEPRINT_SKIP_ASAN:-0}" != 1 ]; then
  cmake --preset asan
  cmake --build --preset asan -j "$JOBS"
  ctest --preset asan -j "$JOBS"
fi

# A short, reproducible run of every fuzz target (clang build in build/fuzz;
# fixed seed and input count: docs/fuzzing.md).
if [ "${FRAMEPRINT_SKIP_FUZZ:-0}" != 1 ]; then
  FUZZ_CI=1 JOBS="$JOBS" scripts/fuzz.sh 20
fi

