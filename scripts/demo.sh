#!/usr/bin/env bash
# The main job on sample media: installs what is needed, builds, makes the
# sample files and hashes them (one JSON line per file).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >/dev/null
if [ ! -x build/bin/frameprint ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j "$(nproc)" --target frameprint
fi
scripts/make-samples.sh samples
start=$(date +%s.%N)
set +e
build/bin/frameprint hash --jobs "$(nproc)" samples | tee /tmp/frameprint-demo.jsonl
status=$?
set -e
end=$(date +%s.%N)
files=$(wc -l < /tmp/frameprint-demo.jsonl)
ok=$(grep -c '"status":"ok"' /tmp/frameprint-demo.jsonl || true)
frames=$(grep -o '"pdq":' /tmp/frameprint-demo.jsonl | wc -l)
awk -v f="$files" -v o="$ok" -v n="$frames" -v a="$start" -v b="$end" 'BEGIN { printf "demo: %d files (%d ok), %d frames hashed in %.2f s\n", f, o, n, b - a }' >&2
exit $status
