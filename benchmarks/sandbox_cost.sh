#!/usr/bin/env bash
# What confining decoders costs per job (issue 13): the same jobs through a
# broker and one worker slot with --sandbox on and off, on loopback.
#   benchmarks/sandbox_cost.sh [COPIES [RUNS]]
# Jobs: the shared test JPEGs (../shared/testdata/pdq/images/*.jpg) copied
# COPIES times, sent inline by `frameprint submit --window 4`. Prints the
# median wall seconds per run and per job for each mode and their difference.
set -euo pipefail
cd "$(dirname "$0")/.."
copies=${1:-4}
runs=${2:-3}
bin=${BIN:-build/bin}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
mkdir -p "$dir/jobs"
for c in $(seq "$copies"); do
  for f in ../shared/testdata/pdq/images/*.jpg; do cp "$f" "$dir/jobs/$c-$(basename "$f")"; done
done
jobs=$(ls "$dir/jobs" | wc -l)
port=$((20000 + RANDOM % 20000))
"$bin/frameprint-broker" --frontend "tcp://127.0.0.1:$port" --backend "tcp://127.0.0.1:$((port + 1))" >"$dir/broker.log" 2>&1 &
pids+=($!)
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for mode in off on; do
  "$bin/frameprint-worker" --connect "tcp://127.0.0.1:$((port + 1))" --slots 1 --device cpu --sandbox "$mode" \
    >"$dir/worker-$mode.log" 2>&1 &
  wpid=$!
  sleep 1
  t=$(for _ in $(seq "$runs"); do
    s=$(date +%s.%N)
    "$bin/frameprint" submit --broker "tcp://127.0.0.1:$port" --window 4 "$dir/jobs" >/dev/null
    e=$(date +%s.%N)
    awk -v a="$s" -v b="$e" 'BEGIN { print b - a }'
  done | median)
  kill "$wpid"; wait "$wpid" 2>/dev/null || true
  eval "t_$mode=$t"
  awk -v t="$t" -v n="$jobs" -v m="$mode" 'BEGIN { printf "--sandbox %-3s: %d jobs in %.2f s (median of runs) = %.2f ms per job\n", m, n, t, 1000 * t / n }'
done
awk -v a="$t_off" -v b="$t_on" -v n="$jobs" 'BEGIN { printf "confinement costs %.2f ms per job (%.0f%%)\n", 1000 * (b - a) / n, 100 * (b - a) / a }'
