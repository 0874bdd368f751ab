#!/usr/bin/env bash
# Lookups and hashes per second through frameprint serve's HTTP API
# (issue 11), beside the same work without HTTP, in one run.
#   benchmarks/serve_bench.sh [SECONDS] [THREADS] [ENTRIES]
# Makes a PDQ list of ENTRIES random hashes (default 1,000,000) plus the
# shared photos' reference hashes, starts `frameprint serve` on loopback
# with it (--slots 2, decoders confined) and drives it with
# frameprint_serve_load (THREADS keep-alive clients, default 4, for SECONDS
# each, default 10):
#   GET /m/raw_lookup?signal_type=pdq&signal=... (10,000 random queries, round robin)
#   GET /status/live                           (the HTTP floor)
#   POST /h/hash with a 1.6 MP JPEG            (hash in a confined decoder)
#   POST /m/lookup with the same JPEG          (hash, then look up)
# and for comparison `frameprint hash --device cpu --jobs 2` over 200 copies
# of that JPEG (the same hashing without HTTP or the sandbox) and
# frameprint_bench_match (the list search alone, one core).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
threads=${2:-4}
entries=${3:-1000000}
bin=${FRAMEPRINT:-build/bin/frameprint}
load=${SERVE_LOAD:-build/bin/frameprint_serve_load}
src=../shared/testdata/pdq
[ -x "$bin" ] && [ -x "$load" ] || { echo "build first: $bin, $load" >&2; exit 1; }
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

python3 - "$work" "$entries" "$src/images.csv" <<'PY'
import csv, random, sys
work, n, ref = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(1)
with open(f"{work}/list.txt", "w") as out:
    for i in range(n):
        out.write(f"{rng.getrandbits(256):064x},r{i}\n")
    for row in csv.DictReader(open(ref)):
        out.write(f"{row['pdq']},{row['file']}\n")
with open(f"{work}/queries.txt", "w") as out:
    for _ in range(10000):
        out.write(f"{rng.getrandbits(256):064x}\n")
PY
photo=$src/images/bridge-1-original.jpg
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --listen "127.0.0.1:$port" --list "pdq:$work/list.txt" --slots 2 --queue 64 \
  --threads 16 >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
grep "list list\|listening" "$work/serve.log" | sed 's/^/  /'

echo "== lookups: GET /m/raw_lookup, $threads clients, ${seconds}s"
"$load" 127.0.0.1 "$port" "/m/raw_lookup?signal_type=pdq&signal={signal}" \
  --signals "$work/queries.txt" --threads "$threads" --seconds "$seconds"
echo "== HTTP floor: GET /status/live, $threads clients, ${seconds}s"
"$load" 127.0.0.1 "$port" /status/live --threads "$threads" --seconds "$seconds"
echo "== hashes: POST /h/hash ($(basename "$photo")), $threads clients, ${seconds}s"
"$load" 127.0.0.1 "$port" /h/hash --post "$photo" --threads "$threads" --seconds "$seconds"
echo "== hash + lookup: POST /m/lookup, $threads clients, ${seconds}s"
"$load" 127.0.0.1 "$port" /m/lookup --post "$photo" --threads "$threads" --seconds "$seconds"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

echo "== without HTTP: frameprint hash --device cpu --jobs 2, 200 copies"
mkdir -p "$work/copies"
for i in $(seq -w 1 200); do cp "$photo" "$work/copies/$i.jpg"; done
start=$(date +%s.%N)
"$bin" hash --device cpu --jobs 2 "$work/copies" >/dev/null 2>&1
end=$(date +%s.%N)
python3 -c "print(f'200 files in {$end-$start:.2f} s: {200/($end-$start):.1f}/s')"
if [ -x build/bin/frameprint_bench_match ]; then
  echo "== list search alone (frameprint_bench_match, 1M random hashes, one core)"
  build/bin/frameprint_bench_match --benchmark_filter=MultiIndex 2>/dev/null | grep -E "^BM" || true
fi
