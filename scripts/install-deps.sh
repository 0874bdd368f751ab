#!/usr/bin/env bash
# Installs everything frameprint needs to build and test, from Debian packages.
# Idempotent: packages already present are left alone. Run as root (or with sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  # decoding: FFmpeg's libraries for video, libjpeg-turbo for JPEG luma,
  # OpenCV's imgcodecs for other stills
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libjpeg-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  # MD5 / SHA-256 of file bytes (OpenSSL's libcrypto uses the CPU's SHA extensions)
  libssl-dev
  # command line, JSON, logging
  libcli11-dev nlohmann-json3-dev libspdlog-dev
  # messaging and metrics (worker pool)
  libzmq3-dev cppzmq-dev prometheus-cpp-dev
  # the pool on NATS JetStream (issue 23): the C client, and the server its tests start
  libnats-dev nats-server
  # the seccomp filter that confines decoder processes (worker --sandbox)
  libseccomp-dev
  # frameprint serve: libmicrohttpd serves the HTTP API (event-driven, with
  # per-connection memory, connection and per-address limits), libcurl
  # fetches url=; cpp-httplib only as a client and test origin in tests/benchmarks
  libmicrohttpd-dev libcurl4-openssl-dev libcpp-httplib-dev
  # tests and benchmarks (curl and Python's urllib drive frameprint serve as clients would)
  libgtest-dev libgmock-dev libbenchmark-dev curl python3
  # the JetStream TLS test makes its CA, server and client certificates with it
  openssl
  # the ffmpeg program makes the sample media and is the decode-only baseline in benchmarks
  ffmpeg
  # the Python package (issue 24): pybind11 for the extension; the venv,
  # setuptools and wheel that `pip install --no-build-isolation .` uses;
  # numpy at run time; pytest and Pillow (reading the reference PNGs) for
  # tests/python
  pybind11-dev python3-dev python3-venv python3-setuptools python3-wheel python3-numpy
  python3-pytest python3-pil
  # Debian packages (cmake --target package, scripts/package-test.sh):
  # dpkg-shlibdeps (dpkg-dev) and file for the dependencies, help2man for
  # the man pages, lintian, and systemd-analyze (systemd) for the units
  dpkg-dev file help2man lintian systemd
  # scripts/check-format.sh (run by scripts/test.sh, so by CI): formatting per .clang-format
  clang-format
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
