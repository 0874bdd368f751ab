#!/usr/bin/env bash
# Builds the Debian packages from a configured build directory, checks them
# (lintian: no errors; systemd-analyze verify on the units), installs them
# with dpkg, runs the installed programs and Python package from the
# installed files only, compares their hashes with the build tree's, and
# removes the packages again. dpkg runs as root (through sudo when not
# root); the packages are built as the caller. scripts/test.sh runs it.
#   scripts/package-test.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=$(realpath "${1:-build}")
TESTDATA=$(realpath -e ../shared/testdata 2>/dev/null || true)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
fail() {
  echo "package-test: $*" >&2
  exit 1
}
command -v lintian >/dev/null || fail "lintian is not installed (scripts/install-deps.sh)"
command -v systemd-analyze >/dev/null || fail "systemd-analyze is not installed (scripts/install-deps.sh)"
for pkg in frameprint python3-frameprint; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    echo "package-test: $pkg is installed already; remove it first (this test removes what it installs)" >&2
    exit 1
  fi
done

rm -f "$BUILD_DIR"/*.deb
cmake --build "$BUILD_DIR" --target package -- -s >/dev/null
mapfile -t debs < <(ls "$BUILD_DIR"/*.deb)
echo "package-test: built ${debs[*]##*/}"
[ "${#debs[@]}" -ge 1 ]

# lintian: errors fail; warnings are printed (docs/packages.md explains them).
lintian --fail-on error --tag-display-limit 0 "${debs[@]}" || fail "lintian found errors"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  $SUDO dpkg --purge python3-frameprint frameprint >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

$SUDO dpkg -i "${debs[@]}" >/dev/null
echo "package-test: installed"

# The units, as installed (their programs exist now): any complaint fails.
units=(/lib/systemd/system/frameprint-broker.service /lib/systemd/system/frameprint-serve.service
  /lib/systemd/system/frameprint-worker@gpu0.service)
if ! systemd-analyze verify --man=no "${units[@]}" >"$work/verify" 2>&1 || [ -s "$work/verify" ]; then
  cat "$work/verify" >&2
  echo "package-test: systemd-analyze verify complained" >&2
  exit 1
fi
for unit in "${units[@]}"; do
  systemd-analyze security --offline=true "$unit" 2>&1 | grep "Overall exposure" || true
done
getent passwd frameprint >/dev/null
[ "$(stat -c '%U:%G %a' /etc/frameprint/keys)" = "root:frameprint 750" ]

# From the installed files only: no build tree on PATH or in the loader's
# path. `run ... &` leaves $! the program itself (exec), for cleanup's kill.
run() { cd "$work" && exec env -i PATH=/usr/bin:/bin HOME="$work" "$@"; }
(run frameprint --version) | head -3
for p in frameprint frameprint-worker frameprint-broker; do
  [ "$(command -v $p)" = "/usr/bin/$p" ] || [ -x /usr/bin/$p ]
done

if [ -n "$TESTDATA" ]; then
  jpeg=$TESTDATA/pdq/images/bridge-1-original.jpg
  png=$TESTDATA/pdq/images/modes/P.png
  video=$TESTDATA/vpdq/videos/chair-19-sd-bar.mp4
  files=("$jpeg" "$png" "$video")
  (run /usr/bin/frameprint hash --device cpu "${files[@]}") >"$work/installed.jsonl"
  "$BUILD_DIR/bin/frameprint" hash --device cpu "${files[@]}" >"$work/built.jsonl"
  cmp "$work/installed.jsonl" "$work/built.jsonl"
  echo "package-test: /usr/bin/frameprint hash equals the build tree on ${#files[@]} files"

  # The pool on loopback: broker, worker, submit, all from /usr/bin.
  port=$((20000 + RANDOM % 20000))
  run /usr/bin/frameprint-broker --frontend "tcp://127.0.0.1:$port" \
    --backend "tcp://127.0.0.1:$((port + 1))" >"$work/broker.log" 2>&1 &
  pids+=($!)
  run /usr/bin/frameprint-worker --connect "tcp://127.0.0.1:$((port + 1))" --device cpu \
    --sandbox on >"$work/worker.log" 2>&1 &
  pids+=($!)
  (run timeout 120 /usr/bin/frameprint submit --broker "tcp://127.0.0.1:$port" \
    --output "$work/pool.jsonl" "${files[@]}") 2>"$work/submit.log" || {
    cat "$work/submit.log" "$work/broker.log" "$work/worker.log" >&2
    exit 1
  }
  /usr/bin/python3 - "$work/pool.jsonl" "$work/built.jsonl" <<'EOF'
import json, sys
pool = {j["path"]: j for j in map(json.loads, open(sys.argv[1]))}
built = {j["path"]: j for j in map(json.loads, open(sys.argv[2]))}
assert pool.keys() == built.keys(), (pool.keys(), built.keys())
for path, b in built.items():
    p = pool[path]
    assert [f["pdq"] for f in p["frames"]] == [f["pdq"] for f in b["frames"]], path
    assert (p["md5"], p["sha256"]) == (b["md5"], b["sha256"]), path
print(f"package-test: the installed pool hashed {len(pool)} files as the build tree")
EOF

  # The Python package, from /usr/lib/python3/dist-packages only.
  (run /usr/bin/python3 - "$png" "$video" "$work/built.jsonl") <<'EOF'
import json, sys
import frameprint, frameprint.pdqhash, frameprint.vpdq, frameprint._native as native
assert frameprint.__file__.startswith("/usr/lib/python3/dist-packages/"), frameprint.__file__
assert native.stills_module_path().startswith("/usr/lib/python3/dist-packages/frameprint/")
built = {j["path"]: j for j in map(json.loads, open(sys.argv[3]))}
for path in sys.argv[1:3]:
    assert frameprint.hash_file(path, device="cpu") == built[path], path
print("package-test: the installed Python package hashes as the build tree")
EOF
else
  echo "package-test: ../shared/testdata not found: only --version and import checked" >&2
  (run /usr/bin/python3 -c "import frameprint; print(frameprint.__file__)")
fi

$SUDO dpkg --purge python3-frameprint frameprint >/dev/null
for gone in /usr/bin/frameprint /lib/systemd/system/frameprint-broker.service \
  /usr/lib/python3/dist-packages/frameprint; do
  [ ! -e "$gone" ] || fail "$gone is still there after dpkg --purge"
done
echo "package-test: removed; all checks passed"
