#!/usr/bin/env bash
# The GPU check in one device call (issue 8): unpacks the bundle that
# scripts/device-bundle.sh made and runs, on the lent GPU machine,
#   1. the GPU tests (NVDEC on every codec it takes, CUDA vs CPU kernels,
#      GPU list search), which fail on a silent NVDEC fallback;
#   2. compute-sanitizer memcheck and racecheck over the GPU tests;
#   3. --device cuda against --device cpu over the shared test videos:
#      frame counts, timestamps and hashes, and "decoder":"nvdec" everywhere;
#   4. the kernel and list-search benchmarks;
#   5. end to end on realistic 1080p H.264 clips: frameprint --device cuda
#      and cpu beside the decode-only ceilings (NVDEC and CPU) measured in
#      the same run on the same files;
# and prints one summary. Run it through the device tool with carry
# [".device"]:
#   bash scripts/gpu-check.sh [CLIPS [SECONDS [JOBS]]]
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
clips=${1:-32}
seconds=${2:-10}
jobs=${3:-32}
fp=${FP_DIR:-/tmp/fp}
log=${OUT:-/tmp}/gpu-check.log
mkdir -p "$fp"
tar -xJf "$here/.device/frameprint.tar.xz" -C "$fp" || { echo "gpu-check: no bundle (run scripts/device-bundle.sh)"; exit 1; }
run="$fp/run"
export FRAMEPRINT_TESTDATA="$fp/testdata"
summary=()
note() { summary+=("$1"); echo "== $1" | tee -a "$log"; }
step() {  # step NAME COMMAND...: runs it, logs everything, notes pass/fail
  local name=$1; shift
  if "$@" >>"$log" 2>&1; then note "PASS $name"; else note "FAIL $name (exit $?)"; fi
}

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  ldconfig -p | grep -E 'libnvcuvid|libcuda\.so' ; } >>"$log" 2>&1
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
note "machine: ${gpu:-no GPU found}, $(nproc) cores, $(date -u +%FT%TZ)"

step "GPU tests" "$run" frameprint_gpu_tests
if command -v compute-sanitizer >/dev/null; then
  step "compute-sanitizer memcheck" compute-sanitizer --tool memcheck --leak-check full --error-exitcode 1 \
    env LD_LIBRARY_PATH="$fp/lib" "$fp/bin/frameprint_gpu_tests"
  step "compute-sanitizer racecheck" compute-sanitizer --tool racecheck --error-exitcode 1 \
    env LD_LIBRARY_PATH="$fp/lib" "$fp/bin/frameprint_gpu_tests" --gtest_filter='CudaBackend.*'
else
  note "SKIP compute-sanitizer (not on PATH)"
fi

# 3. cuda vs cpu over the shared videos, every frame.
videos="$FRAMEPRINT_TESTDATA/vpdq/videos"
work=$(mktemp -d)
"$run" frameprint hash --device cpu --seconds-per-hash 0 --jobs 8 "$videos" >"$work/cpu.jsonl" 2>>"$log"
"$run" frameprint hash --device cuda --seconds-per-hash 0 --jobs 8 "$videos" >"$work/cuda.jsonl" 2>>"$log"
step "cuda = cpu on the shared videos" python3 - "$work/cpu.jsonl" "$work/cuda.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) and a, "different result counts"
frames = differ = 0
for x, y in zip(a, b):
    assert x["status"] == y["status"] == "ok", (x["path"], x.get("error"), y.get("error"))
    assert y.get("decoder") == "nvdec", f'{y["path"]}: decoder {y.get("decoder")} {y.get("warnings")}'
    assert len(x["frames"]) == len(y["frames"]), x["path"]
    for f, g in zip(x["frames"], y["frames"]):
        frames += 1
        assert f["index"] == g["index"] and abs(f["ts"] - g["ts"]) < 1e-6, x["path"]
        differ += f["pdq"] != g["pdq"]
print(f"{frames} frames, {differ} hashes differ")
assert differ == 0
PY
tail -1 "$log"

step "kernel and search benchmarks" "$run" frameprint_bench_gpu

# 5. End to end against the decode-only ceilings, same files, same run.
clipdir="$work/clips"
"$run" frameprint_make_clips "$clipdir" "$clips" "$seconds" >>"$log" 2>&1
rate() {  # rate DEVICE: frameprint hash frames/s
  local start end n
  start=$(date +%s.%N)
  "$run" frameprint hash --device "$1" --seconds-per-hash 0 --jobs "$2" "$clipdir" >"$work/e2e-$1.jsonl" 2>>"$log"
  end=$(date +%s.%N)
  n=$(grep -o '"pdq":' "$work/e2e-$1.jsonl" | wc -l)
  awk -v n="$n" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }'
}
ceiling_gpu=$("$run" frameprint_decode_bench nvdec "$jobs" "$clipdir" | tee -a "$log" | sed -E 's/.* = ([0-9]+) frames\/s.*/\1/')
ceiling_cpu=$("$run" frameprint_decode_bench cpu "$(nproc)" "$clipdir" | tee -a "$log" | sed -E 's/.* = ([0-9]+) frames\/s.*/\1/')
e2e_cuda=$(rate cuda "$jobs")
e2e_cpu=$(rate cpu "$(nproc)")
decoders=$(grep -o '"decoder":"[a-z]*"' "$work/e2e-cuda.jsonl" | sort | uniq -c | tr '\n' ' ')
note "end to end, $clips x ${seconds}s 1080p H.264 (x264 faster, 3 B-frames): NVDEC decode-only ${ceiling_gpu} fps, frameprint --device cuda ${e2e_cuda} fps ($(awk -v a="$e2e_cuda" -v b="$ceiling_gpu" 'BEGIN { printf "%.0f", 100 * a / b }')% of the ceiling; ${decoders}); CPU decode-only ${ceiling_cpu} fps, --device cpu ${e2e_cpu} fps"
rm -rf "$work"
echo
echo "===== gpu-check summary ($log) ====="
printf '%s\n' "${summary[@]}"
grep -q '^FAIL' <(printf '%s\n' "${summary[@]}") && exit 1
exit 0
