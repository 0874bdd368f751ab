#!/usr/bin/env bash
# What a PDQ distance and a vPDQ percentage mean, measured (issue 22): the
# distances of edited copies to their own listed source and of unrelated
# pairs, on the media of benchmarks/copy_detection.sh, and the share of
# each found within every threshold. Draws docs/img/match-distances.png and
# prints markdown tables (docs/matching.md explains them).
#
#   benchmarks/match_distances.sh [WORKDIR] [OUTDIR]
#
# WORKDIR (/tmp/fp-copies) must have been made by
# `benchmarks/copy_detection.sh WORKDIR 20` (sources in src/, edited copies
# SOURCE@EDIT.ext in copies/, lists in lists/); OUTDIR (docs/img) gets the
# PNG. Raw distances are kept in WORKDIR/out/distances/ (distances.tsv:
# one line per pair or frame; vpdq.tsv: frameprint's percentages).
# FRAMEPRINT picks the binary (build/bin/frameprint); THRESHOLDS the rows of
# the tables ("0 8 16 24 31 40 44 48 56 64 70 80 90").
#
# Needs python3 (standard library only), /usr/bin/time and gnuplot (Debian:
# apt-get install gnuplot-nox). What is measured, each with the binary itself:
#   photos   every copy and source hashed (`hash --format jsonl`); the PDQ
#            Hamming distance of its printed (plain) hash to every listed
#            photo, computed here, and frameprint's own distance (the best
#            of the hashes it matches a still with: 8 dihedral, with and
#            without borders), from `hash --list pdq:... --threshold 256`,
#            which reports every listed photo with that best distance.
#   video    every copy and source hashed at the default 1 hash/s with
#            --dihedral (no list: --dihedral would add rotations to the
#            matching); each printed frame's distance, plain and "plain or
#            mirrored" (flipy: what frameprint also compares for video
#            frames), to the nearest frame of its own source and of every
#            unrelated source, as listed every frame (lists/l0) and at
#            1 hash/s (lists/l1). Frames below quality 50 on either side are
#            left out, as the matcher leaves them out, and so are the filler
#            frames of embedded copies (with 0.5 s either side of each cut).
#   vPDQ     `hash --list vpdq:l0 --list vpdq:l1` at the default rules but
#            --query-coverage-pct 0 --listed-coverage-pct 0, so that every
#            listed video frameprint compares and finds evidence for (at
#            least two query frames and a second matched) is reported with
#            its query_pct and compared_pct, match or not.
# Copies are grouped as copy_detection.sh groups them: names before the
# first '.' are one source; the unrelated footage around an embedded clip
# (fillers.txt) is a copy of that listed source, not unrelated.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(realpath -m "${1:-/tmp/fp-copies}")
OUT=$(realpath -m "${2:-$ROOT/docs/img}")
FP=${FRAMEPRINT:-$ROOT/build/bin/frameprint}
THRESHOLDS=${THRESHOLDS:-0 8 16 24 31 40 44 48 56 64 70 80 90}

for d in src copies lists/l0 lists/l1; do
  if [ ! -d "$WORK/$d" ]; then
    echo "match_distances: $WORK/$d missing: WORKDIR must be made first by" \
         "benchmarks/copy_detection.sh $WORK 20" >&2
    exit 2
  fi
done
for f in lists/photos/photos.txt fillers.txt; do
  [ -s "$WORK/$f" ] || { echo "match_distances: $WORK/$f missing: run benchmarks/copy_detection.sh $WORK 20 first" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "match_distances: /usr/bin/time missing (Debian: apt-get install time)" >&2; exit 2; }
command -v gnuplot >/dev/null ||
  { echo "match_distances: gnuplot not found; on Debian: apt-get install gnuplot-nox" >&2; exit 2; }
[ -x "$FP" ] || { echo "match_distances: no frameprint at $FP (build first, or set FRAMEPRINT=)" >&2; exit 2; }

D=$WORK/out/distances
mkdir -p "$D" "$OUT"
start=$(date +%s)
"$FP" --version | sed -n 's/^revision: /frameprint revision: /p'

# Photos: printed hash, and every listed photo with frameprint's best distance.
/usr/bin/time -f "%e s wall, %U+%S s CPU" -o "$D/photos.time" \
  "$FP" hash --format jsonl --device cpu --jobs 2 \
  --list pdq:"$WORK/lists/photos/photos.txt" --threshold 256 \
  "$WORK"/copies/*.jpg "$WORK"/src/*.png > "$D/photos.jsonl" 2>"$D/photos.log" || true
# Video frames at the default rate, with their dihedral hashes (for flipy).
/usr/bin/time -f "%e s wall, %U+%S s CPU" -o "$D/frames.time" \
  "$FP" hash --format jsonl --device cpu --jobs 2 --dihedral \
  "$WORK"/copies/*.mp4 "$WORK"/src/*.mp4 > "$D/frames.jsonl" 2>"$D/frames.log" || true
# vPDQ at the default rules, every compared video reported.
/usr/bin/time -f "%e s wall, %U+%S s CPU" -o "$D/vpdq.time" \
  "$FP" hash --format jsonl --device cpu --jobs 2 \
  --list vpdq:"$WORK/lists/l0" --list vpdq:"$WORK/lists/l1" \
  --query-coverage-pct 0 --listed-coverage-pct 0 \
  "$WORK"/copies/*.mp4 "$WORK"/src/*.mp4 > "$D/vpdq.jsonl" 2>"$D/vpdq.log" || true

python3 - "$WORK" "$D" "$THRESHOLDS" <<'PY'
import collections, glob, json, os, statistics, sys

work, d, thresholds = sys.argv[1], sys.argv[2], [int(t) for t in sys.argv[3].split()]
DEFAULT_T, MIN_Q = 31, 50
group = lambda n: n.split('.')[0]
fillers = dict(l.split() for l in open(os.path.join(work, 'fillers.txt')))
H = lambda h: int(h, 16)
dist = lambda a, b: (a ^ b).bit_count()

def parse(path):
    """(source, edit, ext) of a copy or source file name."""
    stem, ext = os.path.basename(path).rsplit('.', 1)
    src, edit = (stem.split('@') + ['original'])[:2]
    return src, edit, ext

def results(name):
    out = []
    for line in open(os.path.join(d, name)):
        r = json.loads(line)
        if r['status'] != 'ok':
            print(f"not hashed: {r['path']} {r['error']['code']}")
            continue
        out.append(r)
    return out

# Edit classes. A: what PDQ is built to survive (re-encoding, scaling,
# colour, time edits). B: changes of the frame that frameprint undoes on the
# query's side (mirror and rotation: dihedral hashes; padding and borders:
# the content without them). C: crops and overlays, which nothing undoes.
PHOTO_CLASS = {**{e: 'A' for e in ('recompress_q30', 'scale_half', 'scale_up_1.5', 'grey', 'colour')},
               **{e: 'B' for e in ('hflip', 'rotate_90', 'phone_padding', 'white_border', 'screenshot')},
               **{e: 'C' for e in ('crop_5pct', 'crop_15pct', 'caption_bar', 'sticker')}}
VIDEO_CLASS = {**{e: 'A' for e in ('reencode_crf40', 'scale_360p', 'scale_240p', 'fps_15', 'speed_1.25',
                                   'grey', 'bright_contrast_sat', 'noise', 'last_60pct', 'embedded')},
               **{e: 'B' for e in ('hflip', 'pad_aspect')},
               **{e: 'C' for e in ('crop_5pct', 'crop_15pct', 'overlay_logo')}}
CLASS_NAME = {'A': 'A: re-encode, scale, colour, time', 'B': 'B: mirror, rotation, borders',
              'C': 'C: crops and overlays'}
tsv = open(os.path.join(d, 'distances.tsv'), 'w')
tsv.write('media\tquery\tedit\tclass\tlisted\trelation\tlist\tts\tplain\tbest\n')

def pct(n, total):
    return f"{n}/{total} = {100 * n / total:.1f}%" if total else "-"

def frac(n, total):
    return f"{n}/{total} ({100 * n / total:.0f}%)" if total else "-"

def med(v):
    return f"{statistics.median(v):g}" if v else "-"

def rng(v):
    return f"{med(v)} ({min(v)}-{max(v)})" if v else "-"

# ---------------------------------------------------------------- photos --
listed = {}
for line in open(os.path.join(work, 'lists/photos/photos.txt')):
    h, n = line.strip().split(',')
    listed[n] = H(h)
photo = []  # (query, edit, class, listed, relation, plain, best or None)
skipped_q = 0
for r in results('photos.jsonl'):
    src, edit, _ = parse(r['path'])
    f = r['frames'][0]
    if f['quality'] < MIN_Q:
        skipped_q += 1
        continue
    q = H(f['pdq'])
    best = {m['id']: (m['distance'], m.get('variant', 'plain')) for m in r['matches'] if m['type'] == 'pdq'}
    for n, h in listed.items():
        rel = 'copy' if group(n) == group(src) else 'unrelated'
        if rel == 'copy' and edit == 'original':
            continue  # the listed hash itself
        b = best.get(n)
        photo.append((os.path.basename(r['path']), edit, PHOTO_CLASS.get(edit, '-'), n, rel,
                      dist(q, h), b[0] if b else None, b[1] if b else None))
for p in photo:
    tsv.write(f"photo\t{p[0]}\t{p[1]}\t{p[2]}\t{p[3]}\t{p[4]}\tphotos\t0\t{p[5]}\t{'' if p[6] is None else p[6]}\n")
copies = [p for p in photo if p[4] == 'copy']
unrel = [p for p in photo if p[4] == 'unrelated']
missing_best = sum(p[6] is None for p in photo)
print(f"\nPhotos: {len(copies)} copies against their own listed photo, {len(unrel)} unrelated pairs "
      f"(every copy and source against the 14 other listed photos); {skipped_q} queries below quality {MIN_Q}; "
      f"{missing_best} pairs not reported by frameprint at --threshold 256")

def photo_found(cls, t, col):
    v = [p for p in copies if p[2] == cls]
    return frac(sum(p[col] is not None and p[col] <= t for p in v), len(v))

print("\n| threshold | copies found, plain hash: A / B / C | copies found, frameprint's hashes: A / B / C "
      "| unrelated pairs within, plain hash | unrelated pairs within, frameprint's hashes |")
print("|---|---|---|---|---|")
for t in thresholds:
    row = [' / '.join(photo_found(c, t, 5) for c in 'ABC'), ' / '.join(photo_found(c, t, 6) for c in 'ABC'),
           pct(sum(p[5] <= t for p in unrel), len(unrel)),
           pct(sum(p[6] is not None and p[6] <= t for p in unrel), len(unrel))]
    b = '**' if t == DEFAULT_T else ''
    print(f"| {b}{t}{b} | " + " | ".join(row) + " |")
print("\n| photo edit | class | plain hash: distance to its source, median (min-max) | found at 31 "
      "| frameprint's hashes: median (min-max) | found at 31 | hash that hit most |")
print("|---|---|---|---|---|---|---|")
for edit in sorted(PHOTO_CLASS, key=lambda e: (PHOTO_CLASS[e], e)):
    v = [p for p in copies if p[1] == edit]
    if not v: continue
    plain = [p[5] for p in v]; best = [p[6] for p in v if p[6] is not None]
    var = collections.Counter(p[7] for p in v if p[6] is not None).most_common(1)
    print(f"| {edit} | {PHOTO_CLASS[edit]} | {rng(plain)} | {sum(x <= DEFAULT_T for x in plain)}/{len(v)} "
          f"| {rng(best)} | {sum(x <= DEFAULT_T for x in best)}/{len(v)} | {var[0][0] if var else '-'} |")
up = [p[5] for p in unrel]; ub = [p[6] for p in unrel if p[6] is not None]
print(f"\nUnrelated photo pairs: plain hash min {min(up)}, 1st percentile {sorted(up)[len(up) // 100]}, "
      f"median {med(up)}; frameprint's hashes min {min(ub)}, 1st percentile {sorted(ub)[len(ub) // 100]}, median {med(ub)}")

# ----------------------------------------------------------- video frames --
def read_list(path):
    out = []
    for line in open(path):
        line = line.strip()
        if not line or line.startswith('#'): continue
        i, q, h, ts = line.split(',')
        if int(q) >= MIN_Q: out.append((H(h), float(ts)))
    return out
lists = {rate: {os.path.basename(p)[:-4]: read_list(p) for p in sorted(glob.glob(os.path.join(work, 'lists', rate, '*.txt')))}
         for rate in ('l0', 'l1')}
frames_res = results('frames.jsonl')
duration = {parse(r['path'])[0]: r['duration_s'] for r in frames_res if parse(r['path'])[1] == 'original'}

def nearest(h, hs):
    return min(dist(h, x) for x, _ in hs) if hs else None

vf = []  # (query, edit, class, ts, {rate: own plain}, {rate: own either}, [(src, plain, either)] unrelated l0)
low_q = edge = 0
for r in frames_res:
    src, edit, _ = parse(r['path'])
    name = os.path.basename(r['path'])
    filler = fillers.get(f"{src}@{edit}")
    lo, hi = 0.0, float('inf')
    if edit == 'embedded':
        # filler (its first 5 s), the source, the filler again (5 s to 10 s):
        # only frames of the source, 0.5 s from either cut, are kept.
        pre = min(5.0, duration[filler])
        lo, hi = pre + 0.5, pre + duration[src] - 0.5
    for f in r['frames']:
        if f['quality'] < MIN_Q:
            low_q += 1; continue
        if not lo <= f['ts'] <= hi:
            edge += 1; continue
        h, m = H(f['pdq']), H(f['dihedral']['flipy'])
        own_p, own_e = {}, {}
        if edit != 'original':
            for rate in ('l0', 'l1'):
                hs = lists[rate][src]
                own_p[rate] = nearest(h, hs)
                own_e[rate] = min(own_p[rate], nearest(m, hs)) if hs else None
        un = []
        for n, hs in lists['l0'].items():
            if group(n) == group(src) or not hs: continue
            p = nearest(h, hs)
            un.append((n, p, min(p, nearest(m, hs))))
        vf.append((name, edit, VIDEO_CLASS.get(edit, '-'), f['ts'], own_p, own_e, un))
for v in vf:
    for rate in v[4]:
        if v[4][rate] is not None:
            tsv.write(f"video-frame\t{v[0]}\t{v[1]}\t{v[2]}\t{parse(v[0])[0]}\tcopy\t{rate}\t{v[3]}\t{v[4][rate]}\t{v[5][rate]}\n")
    for n, p, e in v[6]:
        tsv.write(f"video-frame\t{v[0]}\t{v[1]}\t{v[2]}\t{n}\tunrelated\tl0\t{v[3]}\t{p}\t{e}\n")
cf = [v for v in vf if v[1] != 'original' and v[4].get('l0') is not None]
cf1 = [v for v in vf if v[1] != 'original' and v[4].get('l1') is not None]
uf = [u for v in vf for u in v[6]]
print(f"\nVideo frames: {len(cf)} printed frames (1 hash/s) of {len({v[0] for v in cf})} copies, each against "
      f"its own source and the {len(lists['l0']) - 1} others; {len(uf)} (frame, unrelated source) pairs, "
      f"originals' frames included; {low_q} frames below quality {MIN_Q} and {edge} filler frames of embedded "
      f"copies left out")

# Every pair of listed frames (every frame) of two unrelated sources: many
# more unrelated pairs, though frames of one video are alike.
ll, ln = [], []
names = list(lists['l0'])
for i, a in enumerate(names):
    for b in names[i + 1:]:
        if group(a) == group(b): continue
        ll.extend(dist(x, y) for x, _ in lists['l0'][a] for y, _ in lists['l0'][b])

def vfound(sel, t, rate, pool):
    v = [x for x in pool if sel(x)]
    return frac(sum(x[5][rate] <= t for x in v), len(v))
VSETS = [('A', lambda x: x[2] == 'A'), ('hflip', lambda x: x[1] == 'hflip'),
         ('pad_aspect', lambda x: x[1] == 'pad_aspect'), ('C', lambda x: x[2] == 'C')]
print("\nCopy frames within the threshold of their own source's nearest listed frame, plain or mirrored hash; "
      "unrelated pairs within it:")
print("\n| threshold | A, listed every frame | A, listed 1 hash/s | hflip | pad_aspect | C: crops, overlay "
      "| unrelated (frame, source), plain | the same, plain or mirrored | listed frames of two sources |")
print("|---|---|---|---|---|---|---|---|---|")
for t in thresholds:
    row = [vfound(VSETS[0][1], t, 'l0', cf), vfound(VSETS[0][1], t, 'l1', cf1)] + \
          [vfound(sel, t, 'l0', cf) for _, sel in VSETS[1:]] + \
          [pct(sum(u[1] <= t for u in uf), len(uf)), pct(sum(u[2] <= t for u in uf), len(uf)),
           pct(sum(x <= t for x in ll), len(ll))]
    b = '**' if t == DEFAULT_T else ''
    print(f"| {b}{t}{b} | " + " | ".join(row) + " |")
up = [u[1] for u in uf]; ue = [u[2] for u in uf]
print(f"\nUnrelated video frames (nearest frame of another source, listed every frame): plain min {min(up)}, "
      f"1st percentile {sorted(up)[len(up) // 100]}, median {med(up)}; plain or mirrored min {min(ue)}, "
      f"1st percentile {sorted(ue)[len(ue) // 100]}, median {med(ue)}; listed frames of two sources "
      f"({len(ll)} pairs) min {min(ll)}, median {med(ll)}")
odd = sum(p[5] % 2 for p in photo) + sum(x % 2 for x in ll) + sum(u[1] % 2 for u in uf)
print(f"Odd distances among all of these: {odd}")

# ------------------------------------------------------------------ vPDQ --
vp = collections.defaultdict(dict)  # (query, listed id) -> list -> match
vq = {}
for r in results('vpdq.jsonl'):
    name = os.path.basename(r['path'])
    vq[name] = parse(r['path'])
    for m in r['matches']:
        if m['type'] == 'vpdq' and 'kind' in m:
            vp[(name, m['id'])][m['list']] = m
with open(os.path.join(d, 'vpdq.tsv'), 'w') as o:
    o.write('query\tedit\tlisted\trelation\tlist\tquery_pct\tcompared_pct\tquery_s\tcompared_s\tvariant\n')
    for (name, lid), by in sorted(vp.items()):
        src, edit, _ = vq[name]
        rel = 'copy' if group(lid) == group(src) or fillers.get(f"{src}@{edit}") == lid else 'unrelated'
        for lst, m in sorted(by.items()):
            o.write(f"{name}\t{edit}\t{lid}\t{rel}\t{lst}\t{m['query_pct']}\t{m['compared_pct']}\t{m['query_s']}\t{m['compared_s']}\t{m.get('variant', '')}\n")

def is_match(m):  # the default rule's decision (evidence is implied by being reported)
    return m is not None and (m['query_pct'] >= 50 or m['compared_pct'] >= 50)

print("\nvPDQ against the own source (frameprint's query_pct and compared_pct; a pair it did not report, "
      "with fewer than two query frames or a second matched, counts as 0), and frame distances:")
print("\n| video edit | class | list every frame: found; query_pct, compared_pct median (min) "
      "| list 1 hash/s: found; query_pct, compared_pct median (min) | median frame distance to own source, "
      "plain (plain or mirrored), every frame / 1 hash/s | frames within 31, plain or mirrored, every frame / 1 hash/s |")
print("|---|---|---|---|---|---|")
for edit in sorted(VIDEO_CLASS, key=lambda e: (VIDEO_CLASS[e], e)):
    qs = sorted(n for n, (s, e, _) in vq.items() if e == edit)
    if not qs: continue
    cells = []
    for lst in ('l0', 'l1'):
        ms = [vp.get((n, vq[n][0]), {}).get(lst) for n in qs]
        qp = [m['query_pct'] if m else 0 for m in ms]; cp = [m['compared_pct'] if m else 0 for m in ms]
        cells.append(f"{sum(map(is_match, ms))}/{len(qs)}; {med(qp)} ({min(qp):g}), {med(cp)} ({min(cp):g})")
    fr = [v for v in cf if v[1] == edit]
    dd = lambda rate, col: med([v[col][rate] for v in fr if v[col].get(rate) is not None])
    w = lambda rate: f"{sum(v[5][rate] <= DEFAULT_T for v in fr if v[5].get(rate) is not None)}/{len(fr)}"
    print(f"| {edit} | {VIDEO_CLASS[edit]} | {cells[0]} | {cells[1]} "
          f"| {dd('l0', 4)} ({dd('l0', 5)}) / {dd('l1', 4)} ({dd('l1', 5)}) | {w('l0')} / {w('l1')} |")
pairs = [(n, lid) for n, (s, e, _) in vq.items() for lid in lists['l0']
         if group(lid) != group(s) and fillers.get(f"{s}@{e}") != lid]
for lst in ('l0', 'l1'):
    rep = [vp[p][lst] for p in pairs if lst in vp.get(p, {})]
    mx = lambda k: max((m[k] for m in rep), default=0)
    print(f"\nvPDQ, unrelated (video, listed video) pairs, list {lst}: {len(rep)} of {len(pairs)} reported "
          f"(at least two query frames and a second matched), {sum(map(is_match, rep))} matches; "
          f"largest query_pct {mx('query_pct'):g}, compared_pct {mx('compared_pct'):g}")
tsv.close()

# ------------------------------------------------------------ histograms --
def hist(values, width=4):
    c = collections.Counter(min(v, 255) // width for v in values)
    n = len(values)
    return [(b * width + width / 2, 100 * c.get(b, 0) / n) for b in range(256 // width)]
series = {
    'photo_A': [p[5] for p in copies if p[2] == 'A'],
    'photo_B_plain': [p[5] for p in copies if p[2] == 'B'],
    'photo_B_best': [p[6] for p in copies if p[2] == 'B' and p[6] is not None],
    'photo_C': [p[5] for p in copies if p[2] == 'C'],
    'photo_unrel': [p[5] for p in unrel],
    'photo_unrel_best': [p[6] for p in unrel if p[6] is not None],
    'video_A': [v[5]['l0'] for v in cf if v[2] == 'A'],
    'video_A_l1': [v[5]['l1'] for v in cf1 if v[2] == 'A'],
    'video_hflip': [v[5]['l0'] for v in cf if v[1] == 'hflip'],
    'video_pad_C': [v[5]['l0'] for v in cf if v[1] == 'pad_aspect' or v[2] == 'C'],
    'video_unrel': [u[2] for u in uf],
    'video_listed_pairs': ll,
}
with open(os.path.join(d, 'hist.dat'), 'w') as o:
    for name, vals in series.items():
        o.write(f"# {name} n={len(vals)}\n")
        for x, y in hist(vals): o.write(f"{x:g} {y:.3f}\n")
        o.write("\n\n")
with open(os.path.join(d, 'counts.txt'), 'w') as o:
    for name, vals in series.items(): o.write(f"{name} {len(vals)}\n")
PY

# gnuplot: two panels, share of each set per 4-bit bin.
declare -A N
while read -r k v; do N[$k]=$v; done < "$D/counts.txt"
gnuplot <<GP
set terminal pngcairo size 1000,760 font "DejaVu Sans,10"
set output "$OUT/match-distances.png"
set multiplot layout 2,1
set xrange [0:256]
set xtics 0,16,256
set grid ytics lc rgb "#dddddd"
set key top right box opaque
set style fill transparent solid 0.35 noborder
set ylabel "share of the set (%), 4-bit bins"
set arrow 1 from 31,graph 0 to 31,graph 1 nohead dt 2 lw 2 lc rgb "black"
set label 1 "threshold 31" at 33,graph 0.93 left
set title "Photos: PDQ distance of an edited copy to its listed source, and of unrelated pairs"
plot "$D/hist.dat" index 0 u 1:2 w boxes lc rgb "#1a9641" t "copies, A: re-encode/scale/colour (n=${N[photo_A]})", \
     "" index 1 u 1:2 w histeps lw 2 lc rgb "#d7191c" t "copies, B: mirror/rotate/borders, plain hash (n=${N[photo_B_plain]})", \
     "" index 2 u 1:2 w histeps lw 2 dt 3 lc rgb "#d7191c" t "copies, B: frameprint's best hash (n=${N[photo_B_best]})", \
     "" index 3 u 1:2 w histeps lw 2 lc rgb "#fdae61" t "copies, C: crops/caption/sticker (n=${N[photo_C]})", \
     "" index 4 u 1:2 w boxes lc rgb "#2b83ba" t "unrelated pairs, plain hash (n=${N[photo_unrel]})", \
     "" index 5 u 1:2 w histeps lw 2 dt 3 lc rgb "#2b83ba" t "unrelated pairs, frameprint's best hash (n=${N[photo_unrel_best]})"
set title "Video frames (1 hash/s): PDQ distance to the nearest frame of a listed video (plain or mirrored hash)"
set xlabel "PDQ distance (Hamming: bits that differ, of 256)"
plot "$D/hist.dat" index 6 u 1:2 w boxes lc rgb "#1a9641" t "copies, A: own source listed every frame (n=${N[video_A]})", \
     "" index 7 u 1:2 w histeps lw 2 lc rgb "#1a9641" t "copies, A: own source listed 1 hash/s (n=${N[video_A_l1]})", \
     "" index 8 u 1:2 w histeps lw 2 lc rgb "#d7191c" t "copies, mirrored (n=${N[video_hflip]})", \
     "" index 9 u 1:2 w histeps lw 2 lc rgb "#fdae61" t "copies, padded, cropped, overlaid (n=${N[video_pad_C]})", \
     "" index 10 u 1:2 w boxes lc rgb "#2b83ba" t "unrelated source, listed every frame (n=${N[video_unrel]})", \
     "" index 11 u 1:2 w histeps lw 2 dt 3 lc rgb "#2b83ba" t "every pair of listed frames of two unrelated sources, plain (n=${N[video_listed_pairs]})"
unset multiplot
GP

echo
for s in photos frames vpdq; do echo "frameprint $s run: $(cat "$D/$s.time")"; done
echo "plot: $OUT/match-distances.png ($(stat -c %s "$OUT/match-distances.png") bytes); raw: $D/distances.tsv, $D/vpdq.tsv"
echo "total: $(( $(date +%s) - start )) s"
