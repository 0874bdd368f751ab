#!/usr/bin/env bash
# Builds frameprint and runs the whole test suite. On a fresh machine this
# is all the set-up needed: it installs the Debian packages first.
#   scripts/test.sh            # Release build in build/, then ctest
#   BUILD_DIR=out scripts/test.sh
#   FRAMEPRINT_SKIP_FUZZ=1 scripts/test.sh   # without the short fuzz run
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$JOBS"
if [ ! -d ../shared/testdata ]; then
  echo "test.sh: ../shared/testdata not found: the reference-vector tests will be skipped" >&2
fi
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 900

# A short run of every fuzz target (clang build in build/fuzz; docs/fuzzing.md).
if [ "${FRAMEPRINT_SKIP_FUZZ:-0}" != 1 ]; then
  JOBS="$JOBS" scripts/fuzz.sh 20
fi
