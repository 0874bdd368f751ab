#!/usr/bin/env bash
# Jobs/s and p50/p99 latency through the pool's transports, side by side in
# one run (issue 23): the MDP broker, one nats-server, and a 3-node cluster
# with R3 streams, each with the same frameprint-worker processes answering
# jobs of random bytes (`unsupported_format`, no decoding: the queue is
# measured, not the hashing). Small jobs (1 KiB) and 1 MiB jobs.
#
#   benchmarks/queue_bench.sh [BUILD_DIR] [SMALL_JOBS] [BIG_JOBS] [WORKERS] [SLOTS] [SETUPS]
#
# SETUPS: a comma-separated subset of mdp,single,r3 (default: all three);
# BIG_JOBS 0 skips the 1 MiB runs.
#
# Everything runs on this machine's loopback: servers, workers and the
# producer share its cores. Prints one JSON line per run.
set -euo pipefail

build=${1:-build}
small=${2:-6000}
big=${3:-300}
workers=${4:-2}
slots=${5:-16}
setups=,${6:-mdp,single,r3},
wanted() { [[ $setups == *,$1,* ]]; }
bin=$(cd "$build/bin" && pwd)
work=$(mktemp -d /tmp/frameprint-queue-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_workers() {  # transport flags...
  local i
  for ((i = 0; i < workers; i++)); do
    "$bin/frameprint-worker" "$@" --slots "$slots" --sandbox off --name "w$i" \
      >"$work/worker-$RANDOM.log" 2>&1 &
    pids+=($!)
  done
}
stop_workers() {
  local keep=()
  for p in "${pids[@]}"; do
    if ps -o comm= -p "$p" 2>/dev/null | grep -q frameprint-work; then kill "$p" 2>/dev/null || true; else keep+=("$p"); fi
  done
  sleep 1
  pids=("${keep[@]}")
}

runs() {  # label, transport flags...
  local label=$1
  shift
  echo "# $label" >&2
  "$bin/frameprint_queue_bench" "$@" --jobs 300 --bytes 1024 >/dev/null  # warm up
  "$bin/frameprint_queue_bench" "$@" --jobs "$small" --bytes 1024 | sed "s/^{/{\"setup\":\"$label\",/"
  if ((big > 0)); then
    "$bin/frameprint_queue_bench" "$@" --jobs "$big" --bytes 1048576 --window 32 |
      sed "s/^{/{\"setup\":\"$label\",/"
  fi
}

# 1. The MDP broker.
if wanted mdp; then
fp=$(port)
bp=$(port)
"$bin/frameprint-broker" --frontend "tcp://127.0.0.1:$fp" --backend "tcp://127.0.0.1:$bp" \
  >"$work/broker.log" 2>&1 &
pids+=($!)
start_workers --connect "tcp://127.0.0.1:$bp"
sleep 1
runs "mdp broker" --broker "tcp://127.0.0.1:$fp"
stop_workers
fi

# nats-server needs max_payload above 1 MiB for the big jobs.

# 2. One nats-server.
if wanted single; then
np=$(port)
{
  echo "listen: 127.0.0.1:$np"
  echo "max_payload: 8MB"
  echo "jetstream { store_dir: \"$work/single\" }"
} >"$work/single.conf"
nats-server -c "$work/single.conf" >"$work/single.log" 2>&1 &
pids+=($!)
sleep 1
"$bin/frameprint" queue init --nats "nats://127.0.0.1:$np" >/dev/null
start_workers --nats "nats://127.0.0.1:$np"
sleep 1
runs "jetstream, 1 server" --nats "nats://127.0.0.1:$np"
stop_workers
fi

# 3. A 3-node cluster, R3 streams.
if wanted r3; then
cp=() ; clp=()
for i in 0 1 2; do cp+=("$(port)"); clp+=("$(port)"); done
for i in 0 1 2; do
  {
    echo "server_name: n$i"
    echo "listen: 127.0.0.1:${cp[$i]}"
    echo "max_payload: 8MB"
    echo "jetstream { store_dir: \"$work/store$i\" }"
    echo "cluster { name: fp, listen: 127.0.0.1:${clp[$i]}, routes: ["
    for j in 0 1 2; do [ "$j" = "$i" ] || echo "  nats://127.0.0.1:${clp[$j]},"; done
    echo "] }"
  } >"$work/n$i.conf"
  nats-server -c "$work/n$i.conf" >"$work/n$i.log" 2>&1 &
  pids+=($!)
done
urls="nats://127.0.0.1:${cp[0]},nats://127.0.0.1:${cp[1]},nats://127.0.0.1:${cp[2]}"
sleep 2
"$bin/frameprint" queue init --nats "$urls" --replicas 3 >/dev/null
start_workers --nats "$urls"
sleep 1
runs "jetstream, 3 servers, R3" --nats "$urls"
stop_workers
fi
