#!/usr/bin/env bash
# What confining decoders costs per job (issue 13): the same jobs through a
# broker and one worker slot with --sandbox on and off, on loopback.
#   benchmarks/sandbox_cost.sh [COPIES [RUNS]]
# Jobs: the shared test JPEGs (../shared/testdata/pdq/images/*.jpg) copied
# COPIES times, sent inline by `frameprint submit --window 4`. Modes: no
# sandbox; one decoder process per slot (--sandbox-jobs 0); a fresh one per
# job (--sandbox-jobs 1); a fresh one every 100 jobs (the default). Prints the median wall seconds per
# run and per job, the worker's and its decoders' CPU per job, and the
# differences.
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
ticks() {  # user+sys CPU ticks of a process, its reaped children and its live ones (/proc/PID/stat)
  local t
  t=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat")
  for c in $(pgrep -P "$1"); do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
hz=$(getconf CLK_TCK)
for mode in off on:0 on:100 on:1; do
  sandbox=${mode%%:*}
  extra=()
  [ "$sandbox" = on ] && extra=(--sandbox-jobs "${mode#*:}")
  "$bin/frameprint-worker" --connect "tcp://127.0.0.1:$((port + 1))" --slots 1 --device cpu \
    --sandbox "$sandbox" "${extra[@]}" >"$dir/worker-$sandbox.log" 2>&1 &
  wpid=$!
  sleep 1
  c0=$(ticks "$wpid")
  t=$(for _ in $(seq "$runs"); do
    s=$(date +%s.%N)
    "$bin/frameprint" submit --broker "tcp://127.0.0.1:$port" --window 4 "$dir/jobs" >/dev/null
    e=$(date +%s.%N)
    awk -v a="$s" -v b="$e" 'BEGIN { print b - a }'
  done | median)
  c1=$(ticks "$wpid")
  kill "$wpid"; wait "$wpid" 2>/dev/null || true
  key=${mode//:/_}
  eval "t_$key=$t"
  label="--sandbox $sandbox${extra[*]:+ ${extra[*]}}"
  awk -v t="$t" -v n="$jobs" -v m="$label" -v c=$((c1 - c0)) -v hz="$hz" -v r="$runs" 'BEGIN {
    printf "%-27s: %d jobs in %.2f s (median of runs) = %.2f ms per job; worker + decoders CPU %.2f ms per job\n",
      m, n, t, 1000 * t / n, 1000 * c / hz / (n * r) }'
done
awk -v a="$t_off" -v b="$t_on_0" -v d="$t_on_100" -v c="$t_on_1" -v n="$jobs" 'BEGIN {
  printf "confinement costs per job: %.2f ms (%.0f%%) with one decoder process per slot, %.2f ms (%.0f%%) with a fresh one every 100 jobs (the default), %.2f ms (%.0f%%) with a fresh one per job\n",
    1000 * (b - a) / n, 100 * (b - a) / a, 1000 * (d - a) / n, 100 * (d - a) / a, 1000 * (c - a) / n, 100 * (c - a) / a }'
