#!/usr/bin/env bash
# The Python package as a user installs it: a fresh venv over Debian's
# packages (python3-venv, python3-numpy, ...), `pip install
# --no-build-isolation .` from this checkout (setup.py builds the extension
# with CMake in a build directory of its own), then the pytest suite
# (tests/python) against that installed copy. scripts/test.sh runs it.
#   scripts/python-test.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$(realpath -m "${1:-build/venv}")
BIN=$(realpath -m "${BUILD_DIR:-build}/bin")  # the frameprint program compared with
PYTHON=${PYTHON:-/usr/bin/python3}
rm -rf "$VENV"
"$PYTHON" -m venv --system-site-packages "$VENV"
FRAMEPRINT_BUILD_JOBS=${JOBS:-$(nproc)} "$VENV/bin/pip" install --no-build-isolation --no-index \
  --progress-bar off . >"$VENV.install.log" 2>&1 || {
  tail -40 "$VENV.install.log" >&2
  echo "python-test: pip install failed (whole log: $VENV.install.log)" >&2
  exit 1
}
site=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "python-test: installed into $site/frameprint"
# From outside the checkout, so that only the installed copy can be imported.
cd "$VENV"
FRAMEPRINT_EXPECT_MODULE_DIR="$site/frameprint" FRAMEPRINT_BIN="$BIN" \
  "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/tests/python"
