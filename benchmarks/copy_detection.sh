#!/usr/bin/env bash
# Copy detection on real footage and photos: are re-uploads of listed media
# found, and is nothing else? Every source is listed by frameprint itself
# (videos every frame and at 1 hash/s), every edited copy is hashed and
# matched at the defaults, and recall is counted per edit and list rate;
# every match to another source is a false positive.
#
#   benchmarks/copy_detection.sh [WORKDIR] [MAX_SECONDS] [-- extra match flags]
#
# Sources (nothing is committed as media): the shared test videos and
# photos (../shared/testdata), and real footage and photos from Debian
# packages, unpacked (not installed) into WORKDIR/debs: opencv-doc
# (vtest.avi: people walking; tree.avi; Megamind.avi: a film clip; photos)
# and python3-skimage (photos). Videos are cut to MAX_SECONDS (20).
# Edits are made with the ffmpeg program. Prints tables (markdown).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${1:-/tmp/fp-copies}
MAX_S=${2:-20}
shift $(( $# > 2 ? 2 : $# )) || true
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
FP=${FRAMEPRINT:-$ROOT/build/bin/frameprint}
SHARED=${SHARED:-$ROOT/../shared/testdata}
mkdir -p "$WORK"/{debs,src,lists/l0,lists/l1,lists/photos,copies,out}

# --- sources --------------------------------------------------------------
if [ ! -d "$WORK/debs/x" ]; then
  (cd "$WORK/debs" && apt-get download opencv-doc python3-skimage >/dev/null 2>&1 &&
     mkdir -p x && for d in *.deb; do dpkg -x "$d" x; done)
fi
OCV=$WORK/debs/x/usr/share/doc/opencv-doc/examples/data
SKI=$WORK/debs/x/usr/lib/python3/dist-packages/skimage/data
# name=file; names before the first '-' group copies of one source (chair-19 and chair-22 are one)
# (test-padded-dimensions.mp4 is a synthetic test pattern: not footage.)
VIDEOS=(
  "chair.19=$SHARED/vpdq/videos/chair-19-sd-bar.mp4"
  "doorknob=$SHARED/vpdq/videos/doorknob-hd-no-bar.mp4"
  "pattern.hd=$SHARED/vpdq/videos/pattern-hd-no-bar.mp4"
  "vtest=$OCV/vtest.avi"
  "tree=$OCV/tree.avi"
  "megamind=$OCV/Megamind.avi"
)
PHOTOS=(
  "bridge=$SHARED/pdq/images/bridge-1-original.jpg"
  "astronaut=$SKI/astronaut.png" "coffee=$SKI/coffee.png" "chelsea=$SKI/chelsea.png"
  "motorcycle=$SKI/motorcycle_left.png" "rocket=$SKI/rocket.jpg" "camera=$SKI/camera.png"
  "aloe=$OCV/aloeL.jpg" "leuven=$OCV/leuvenA.jpg" "building=$OCV/building.jpg"
  "fruits=$OCV/fruits.jpg" "baboon=$OCV/baboon.jpg" "messi=$OCV/messi5.jpg"
  "home=$OCV/home.jpg" "orange=$OCV/orange.jpg"
)
ff() { ffmpeg -nostdin -loglevel error -y "$@"; }
# Crops that photos and videos share: 5% and 15% off each side.
CROP5="-vf crop=trunc(iw*0.45)*2:trunc(ih*0.45)*2"
CROP15="-vf crop=trunc(iw*0.35)*2:trunc(ih*0.35)*2"
X264=(-c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -an)

for e in "${VIDEOS[@]}"; do
  n=${e%%=*}; f=${e#*=}
  [ -s "$WORK/src/$n.mp4" ] || ff -i "$f" -t "$MAX_S" -vf "scale=trunc(iw/2)*2:trunc(ih/2)*2" "${X264[@]}" "$WORK/src/$n.mp4"
  "$FP" hash --seconds-per-hash 0 --format vpdq "$WORK/src/$n.mp4" > "$WORK/lists/l0/$n.txt" 2>/dev/null
  "$FP" hash --format vpdq "$WORK/src/$n.mp4" > "$WORK/lists/l1/$n.txt" 2>/dev/null
done
: > "$WORK/lists/photos/photos.txt"
for e in "${PHOTOS[@]}"; do
  n=${e%%=*}; f=${e#*=}
  [ -s "$WORK/src/$n.png" ] || ff -i "$f" "$WORK/src/$n.png"
  "$FP" hash --format jsonl "$WORK/src/$n.png" 2>/dev/null |
    python3 -c "import json,sys; r=json.load(sys.stdin); print(r['frames'][0]['pdq']+',$n')" >> "$WORK/lists/photos/photos.txt"
done

# --- video edits ----------------------------------------------------------
declare -A VEDIT=(
  [reencode_crf40]="-vf null -c:v libx264 -preset veryfast -crf 40"
  [scale_360p]="-vf scale=-2:360"
  [scale_240p]="-vf scale=-2:240"
  [crop_5pct]="$CROP5"
  [crop_15pct]="$CROP15"
  [pad_aspect]="PAD"
  [overlay_logo]="-vf drawbox=x=iw*0.62:y=ih*0.05:w=iw*0.33:h=ih*0.14:color=white@0.85:t=fill,drawbox=x=0:y=ih*0.86:w=iw:h=ih*0.1:color=black@0.6:t=fill"
  [fps_15]="-vf fps=15"
  [speed_1.25]="-vf setpts=PTS/1.25"
  [grey]="-vf format=gray,format=yuv420p"
  [bright_contrast_sat]="-vf eq=brightness=0.08:contrast=1.25:saturation=1.5"
  [noise]="-vf noise=alls=25:allf=t"
  [hflip]="-vf hflip"
  [last_60pct]="LAST"
  [embedded]="EMBED"
)
names=(); for e in "${VIDEOS[@]}"; do names+=("${e%%=*}"); done
: > "$WORK/fillers.txt"
for i in "${!names[@]}"; do
  n=${names[$i]}; s=$WORK/src/$n.mp4
  filler=${names[$(( (i + 3) % ${#names[@]} ))]}
  other=$WORK/src/$filler.mp4
  echo "$n@embedded $filler" >> "$WORK/fillers.txt"
  read -r w h d < <(ffprobe -v error -select_streams v -show_entries stream=width,height:format=duration -of csv=p=0 "$s" | tr ',\n' '  ') || true
  for ed in "${!VEDIT[@]}"; do
    out=$WORK/copies/$n@$ed.mp4
    [ -s "$out" ] && continue
    case "${VEDIT[$ed]}" in
      PAD) if [ "$w" -ge "$h" ]; then vf="pad=iw:trunc(iw*8/9)*2:0:(oh-ih)/2"; else vf="pad=trunc(ih*8/9)*2:ih:(ow-iw)/2:0"; fi
           ff -i "$s" -vf "$vf" "${X264[@]}" "$out" ;;
      LAST) ff -ss "$(python3 -c "print($d*0.4)")" -i "$s" "${X264[@]}" "$out" ;;
      EMBED) ff -t 5 -i "$other" -i "$s" -ss 5 -t 5 -i "$other" -filter_complex \
               "[0:v]scale=$w:$h,setsar=1,fps=30[pre];[1:v]setsar=1,fps=30[m];[2:v]scale=$w:$h,setsar=1,fps=30[post];[pre][m][post]concat=n=3:v=1[v]" \
               -map "[v]" "${X264[@]}" "$out" ;;
      *) # shellcheck disable=SC2086
         ff -i "$s" ${VEDIT[$ed]} $( [[ "${VEDIT[$ed]}" == *"-c:v"* ]] || echo "${X264[@]}" ) -pix_fmt yuv420p -an "$out" ;;
    esac
  done
done

# --- photo edits ----------------------------------------------------------
declare -A PEDIT=(
  [recompress_q30]="-q:v 20"
  [scale_half]="-vf scale=trunc(iw/4)*2:-2"
  [scale_up_1.5]="-vf scale=trunc(iw*0.75)*2:-2"
  [crop_5pct]="$CROP5"
  [crop_15pct]="$CROP15"
  [phone_padding]="-vf pad=iw:trunc(iw*1.1)*2:0:(oh-ih)/2:black"
  [white_border]="-vf pad=trunc(iw*0.6)*2:trunc(ih*0.6)*2:(ow-iw)/2:(oh-ih)/2:white"
  [screenshot]="-vf pad=trunc(iw*0.55)*2:trunc(iw*1.2)*2:(ow-iw)/2:(oh-ih)/2:0x202020,drawbox=x=0:y=0:w=iw:h=ih*0.035:color=0x303030:t=fill,drawbox=x=iw*0.05:y=ih*0.01:w=iw*0.08:h=ih*0.015:color=white:t=fill,drawbox=x=iw*0.8:y=ih*0.01:w=iw*0.12:h=ih*0.015:color=white:t=fill"
  [caption_bar]="-vf drawbox=x=0:y=ih*0.82:w=iw:h=ih*0.18:color=black:t=fill"
  [sticker]="-vf drawbox=x=iw*0.6:y=ih*0.55:w=iw*0.25:h=ih*0.25:color=yellow:t=fill"
  [grey]="-vf format=gray"
  [colour]="-vf hue=h=40:s=1.4"
  [hflip]="-vf hflip"
  [rotate_90]="-vf transpose=1"
)
for e in "${PHOTOS[@]}"; do
  n=${e%%=*}
  for ed in "${!PEDIT[@]}"; do
    out=$WORK/copies/$n@$ed.jpg
    # shellcheck disable=SC2086
    [ -s "$out" ] || ff -i "$WORK/src/$n.png" ${PEDIT[$ed]} -q:v 3 "$out"
  done
done

# --- match ----------------------------------------------------------------
tag=${TAG:-default}
LISTS=(--list vpdq:"$WORK/lists/l0" --list vpdq:"$WORK/lists/l1" --list pdq:"$WORK/lists/photos/photos.txt")
# Videos on one thread, timed: CPU seconds per second of video.
/usr/bin/time -f "%U %S" -o "$WORK/out/$tag.cpu" "$FP" hash --device cpu "${LISTS[@]}" "${EXTRA[@]}" \
  "$WORK"/copies/*.mp4 "$WORK"/src/*.mp4 > "$WORK/out/$tag.jsonl" 2>/dev/null || true
"$FP" hash --jobs 2 --device cpu "${LISTS[@]}" "${EXTRA[@]}" "$WORK"/copies/*.jpg "$WORK"/src/*.png \
  >> "$WORK/out/$tag.jsonl" 2>/dev/null || true
sort -u -o "$WORK/fillers.txt" "$WORK/fillers.txt"
python3 - "$WORK/out/$tag.jsonl" "$WORK/fillers.txt" "$WORK/out/$tag.cpu" <<'PY'
import json, sys, collections
group = lambda n: n.split('.')[0]
# The unrelated footage around an embedded clip is itself a listed source.
fillers = dict(l.split() for l in open(sys.argv[2]))
res = collections.defaultdict(dict)   # (kind, edit) -> rate -> [found, total]
fps = []
video_s = 0.0
for line in open(sys.argv[1]):
    r = json.loads(line)
    video_s += r.get('duration_s', 0) if r.get('kind') == 'video' else 0
    p = r['path'].rsplit('/', 1)[1]
    if r['status'] != 'ok':
        print('not hashed:', p, r['error']['code']); continue
    stem, ext = p.rsplit('.', 1)
    src, edit = (stem.split('@') + ['original'])[:2]
    kind = 'photo' if r.get('kind') == 'image' else 'video'
    ms = r.get('matches', [])
    for m in ms:
        if group(m['id']) != group(src) and fillers.get(stem) != m['id']:
            fps.append((p, m['list'], m['id'], m.get('distance', m.get('query_pct'))))
    rates = ['photos'] if kind == 'photo' else ['l0', 'l1']
    for rate in rates:
        hit = any(m['id'] == src and m['list'] == rate for m in ms)
        c = res[(kind, edit)].setdefault(rate, [0, 0])
        c[0] += hit; c[1] += 1
# Counted as the issue counts them; the others are reported.
counted_edits = {
    'video': lambda e: e not in ('original', 'crop_15pct', 'crop_5pct', 'hflip'),
    'photo': lambda e: e in ('recompress_q30', 'scale_half', 'scale_up_1.5', 'phone_padding',
                             'white_border', 'screenshot', 'grey', 'colour', 'hflip', 'rotate_90'),
}
for kind, rates in (('video', ['l0', 'l1']), ('photo', ['photos'])):
    print(f"\n| {kind} edit | " + " | ".join({'l0': 'listed every frame', 'l1': 'listed 1 hash/s', 'photos': 'found'}[r] for r in rates) + " |")
    print("|---|" + "---|" * len(rates))
    tot = {r: [0, 0] for r in rates}
    for (k, edit), by in sorted(res.items()):
        if k != kind: continue
        print(f"| {edit} | " + " | ".join(f"{by[r][0]}/{by[r][1]}" for r in rates) + " |")
        if counted_edits[kind](edit):
            for r in rates: tot[r][0] += by[r][0]; tot[r][1] += by[r][1]
    print(f"| **counted edits** | " + " | ".join(f"**{tot[r][0]}/{tot[r][1]} = {100*tot[r][0]/max(1,tot[r][1]):.0f}%**" for r in rates) + " |")
cpu = sum(map(float, open(sys.argv[3]).read().split()))
print(f"\nvideos: {video_s:.0f} s hashed and matched in {cpu:.1f} CPU s (one thread): {cpu / video_s:.3f} CPU s per video second")
print(f"false positives: {len(fps)}")
for f in fps[:20]: print("  ", f)
PY
