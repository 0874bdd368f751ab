#!/usr/bin/env bash
# The main job on sample media: installs what is needed, builds, makes sample
# files, starts a broker and one worker on loopback, submits the samples with
# `frameprint submit`, prints the results and a summary, and stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >/dev/null
if [ ! -x build/bin/frameprint ] || [ ! -x build/bin/frameprint-broker ] || [ ! -x build/bin/frameprint-worker ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j "$(nproc)" --target frameprint frameprint-broker frameprint-worker
fi
scripts/make-samples.sh samples >&2

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }
front="tcp://127.0.0.1:$(port)"
back="tcp://127.0.0.1:$(port)"
logs=$(mktemp -d)
build/bin/frameprint-broker --frontend "$front" --backend "$back" 2>"$logs/broker.log" &
broker=$!
build/bin/frameprint-worker --connect "$back" --slots "$(nproc)" 2>"$logs/worker.log" &
worker=$!
stop() {
  kill -TERM "$worker" 2>/dev/null && wait "$worker" 2>/dev/null || true
  kill -TERM "$broker" 2>/dev/null && wait "$broker" 2>/dev/null || true
}
trap stop EXIT

start=$(date +%s.%N)
set +e
build/bin/frameprint submit --broker "$front" --timeout 60 samples | tee "$logs/results.jsonl"
status=$?
set -e
end=$(date +%s.%N)
files=$(wc -l < "$logs/results.jsonl")
ok=$(grep -c '"status":"ok"' "$logs/results.jsonl" || true)
frames=$(grep -o '"pdq":' "$logs/results.jsonl" | wc -l)
awk -v f="$files" -v o="$ok" -v n="$frames" -v a="$start" -v b="$end" \
  'BEGIN { printf "demo: %d files (%d ok), %d frames hashed through the pool in %.2f s\n", f, o, n, b - a }' >&2
exit $status
