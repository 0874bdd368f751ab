#!/usr/bin/env bash
# Synthesises a few sample media files with the ffmpeg program, so the demo
# runs on a fresh machine without any downloaded media.
#   scripts/make-samples.sh [DIR]   (default: samples/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-samples}
mkdir -p "$out"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }

[ -f "$out/clip-h264.mp4" ] || ff -f lavfi -i "testsrc2=size=640x360:rate=30:duration=6" \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p "$out/clip-h264.mp4"
[ -f "$out/clip-vp9.webm" ] || ff -f lavfi -i "mandelbrot=size=480x270:rate=25" -t 4 \
  -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 1M "$out/clip-vp9.webm"
# A phone-style clip: stored landscape, with rotation metadata (a display
# matrix) that turns it to portrait for viewing.
[ -f "$out/clip-rotated.mp4" ] || ff -i "$out/clip-h264.mp4" -c copy -metadata:s:v:0 rotate=90 "$out/clip-rotated.mp4"
[ -f "$out/still.png" ] || ff -f lavfi -i "testsrc2=size=800x600" -frames:v 1 "$out/still.png"
[ -f "$out/still.jpg" ] || ff -i "$out/still.png" -q:v 3 "$out/still.jpg"
[ -f "$out/anim.gif" ] || ff -f lavfi -i "testsrc=size=160x120:rate=5:duration=2" "$out/anim.gif"
echo "make-samples: sample media in $out/"
