"""The frameprint Python package against the reference vectors, the
`pdqhash`/`vpdq` call shapes and the `frameprint` program on the same files."""

import concurrent.futures
import csv
import json

import numpy as np
import pytest
from PIL import Image

import frameprint
import frameprint.pdqhash as pdqhash
import frameprint.vpdq as vpdq

DIHEDRAL = ["pdq", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1"]


def bits_of_hex(hex_hash):
    """The reference hex string as the pdqhash package's bit vector, most
    significant bit first (written out here, not taken from the module)."""
    return np.array([int(b) for b in bin(int(hex_hash, 16))[2:].zfill(256)])


def vectors(testdata):
    with open(testdata / "pdq" / "vectors.csv", newline="") as f:
        return list(csv.DictReader(f))


def pixels(path):
    image = Image.open(path)
    if path.name.startswith("gray-"):
        return np.asarray(image.convert("L"))
    return np.asarray(image.convert("RGB"))


# ---------------------------------------------------------------------------
# frameprint.pdqhash


def test_pdqhash_compute_equals_every_reference_vector_bit_for_bit(testdata):
    rows = vectors(testdata)
    assert len(rows) >= 10
    for row in rows:
        image = pixels(testdata / "pdq" / "vectors" / row["file"])
        bits, quality = pdqhash.compute(image)
        assert bits.shape == (256,) and bits.dtype == np.int64, row["file"]
        assert np.array_equal(bits, bits_of_hex(row["pdq"])), row["file"]
        assert quality == int(row["quality"]), row["file"]


def test_pdqhash_compute_dihedral_gives_the_eight_reference_hashes(testdata):
    for row in vectors(testdata):
        image = pixels(testdata / "pdq" / "vectors" / row["file"])
        hashes, quality = pdqhash.compute_dihedral(image)
        assert isinstance(hashes, list) and len(hashes) == 8
        for name, bits in zip(DIHEDRAL, hashes):
            assert np.array_equal(bits, bits_of_hex(row[name])), (row["file"], name)
        assert quality == int(row["quality"])


def test_pdqhash_compute_float_thresholds_to_the_hash(testdata):
    for row in vectors(testdata)[:6]:
        image = pixels(testdata / "pdq" / "vectors" / row["file"])
        coefficients, quality = pdqhash.compute_float(image)
        assert coefficients.shape == (256,) and coefficients.dtype == np.float64
        assert quality == int(row["quality"])
        expected = bits_of_hex(row["pdq"])
        assert np.array_equal((coefficients > np.median(coefficients)).astype(int), expected)


def test_pdqhash_reads_strided_and_rgba_arrays_in_place(testdata):
    row = next(r for r in vectors(testdata) if not r["file"].startswith("gray-"))
    image = pixels(testdata / "pdq" / "vectors" / row["file"])
    mirrored = image[:, ::-1]  # a view with a negative stride
    assert not mirrored.flags["C_CONTIGUOUS"]
    assert np.array_equal(pdqhash.compute(mirrored)[0], pdqhash.compute(mirrored.copy())[0])
    rgba = np.dstack([image, np.full(image.shape[:2], 7, np.uint8)])
    assert np.array_equal(pdqhash.compute(rgba)[0], bits_of_hex(row["pdq"]))
    # Views with negative strides on every axis that read as the original
    # pixels: the reference hash, read in place.
    for flip in [(slice(None), slice(None), slice(None, None, -1)),
                 (slice(None), slice(None, None, -1), slice(None)),
                 (slice(None, None, -1), slice(None), slice(None))]:
        view = np.ascontiguousarray(image[flip])[flip]
        assert min(view.strides) < 0
        assert np.array_equal(pdqhash.compute(view)[0], bits_of_hex(row["pdq"])), flip


def test_pdqhash_refuses_what_is_not_an_image():
    with pytest.raises(TypeError):
        pdqhash.compute(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(ValueError):
        pdqhash.compute(np.zeros((32, 32, 2), np.uint8))
    with pytest.raises(ValueError):
        pdqhash.compute(np.zeros((4, 32, 32, 3), np.uint8))
    bits, quality = pdqhash.compute(np.zeros((3, 3, 3), np.uint8))  # too small: zero, as the reference
    assert not bits.any() and quality == 0


# ---------------------------------------------------------------------------
# frameprint.hash_file and the CLI


def test_hash_file_equals_the_cli_json_line(testdata, cli):
    files = [
        testdata / "pdq" / "images" / "bridge-1-original.jpg",
        testdata / "pdq" / "images" / "modes" / "P.png",
        testdata / "pdq" / "images" / "modes" / "F.webp",
        testdata / "vpdq" / "videos" / "chair-19-sd-bar.mp4",
        testdata / "vpdq" / "videos" / "test-padded-dimensions.mp4",
    ]
    for path in files:
        [line] = cli.hash_lines(path)
        assert frameprint.hash_file(str(path), device="cpu") == line, path
    video = files[3]
    [line] = cli.hash_lines("--seconds-per-hash", "0.5", "--dihedral", video)
    assert frameprint.hash_file(video, 0.5, True, "cpu") == line


def test_hash_file_takes_bytes_as_the_cli_takes_standard_input(testdata, cli):
    path = testdata / "pdq" / "images" / "bridge-blur-a-little.jpg"
    data = path.read_bytes()
    out = cli("hash", "--device", "cpu", "-", stdin=data)
    line = json.loads(out.stdout.decode())
    assert line["path"] == "-"
    assert frameprint.hash_file(data, device="cpu") == line
    assert frameprint.hash_file(bytearray(data), device="cpu") == line
    assert frameprint.hash_file(np.frombuffer(data, np.uint8), device="cpu") == line


def test_errors_carry_frameprint_codes(tmp_path):
    cases = [
        (b"", "empty_file"),
        (b"this is not an image or a video, only some text" * 20, "unsupported_format"),
        (tmp_path / "absent.jpg", "io_error"),
    ]
    for data, code in cases:
        with pytest.raises(frameprint.Error) as raised:
            frameprint.hash_file(data, device="cpu")
        assert raised.value.code == code
        assert raised.value.code in frameprint.ERROR_CODES
        assert raised.value.result["status"] == "error"
    with pytest.raises(TypeError):
        frameprint.hash_file(12345)
    with pytest.raises(ValueError):
        frameprint.hash_file(b"x", device="gpu-7")
    with pytest.raises(ValueError):
        frameprint.hash_file(b"x", seconds_per_hash=-1)


def test_limits_refuse_with_too_large(testdata):
    path = testdata / "pdq" / "images" / "bridge-1-original.jpg"
    with pytest.raises(frameprint.Error) as raised:
        frameprint.hash_file(path, max_pixels=1000, device="cpu")
    assert raised.value.code == "too_large"


def test_threads_hashing_at_once_give_the_serial_results(testdata):
    files = sorted((testdata / "pdq" / "images").glob("*.jpg"))[:8]
    files += sorted((testdata / "vpdq" / "videos").glob("*.mp4"))[:2]
    serial = [frameprint.hash_file(f, device="cpu") for f in files]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(2):
            parallel = list(pool.map(lambda f: frameprint.hash_file(f, device="cpu"), files))
            assert parallel == serial


# ---------------------------------------------------------------------------
# frameprint.vpdq


def test_vpdq_compute_hash_equals_the_cli_on_every_shared_video(testdata, cli):
    videos = sorted((testdata / "vpdq" / "videos").glob("*.mp4"))
    assert len(videos) == 6
    for video in videos:
        [line] = cli.hash_lines(video)
        # The vpdq package's positional order: path, ffmpeg_path,
        # seconds_per_hash, verbose, downsample_width, downsample_height.
        features = vpdq.computeHash(str(video), "/usr/bin/ffmpeg", 1.0, False, 0, 0)
        assert [(f.frame_number, f.timestamp, f.quality, f.hex) for f in features] == [
            (fr["index"], fr["ts"], fr["quality"], fr["pdq"]) for fr in line["frames"]
        ], video
        assert all(vpdq.hash_to_hex(f.hash) == f.hex for f in features)


def test_vpdq_every_frame_is_within_the_reference_tolerance(testdata):
    video = testdata / "vpdq" / "videos" / "chair-22-sd-sepia-bar.mp4"
    reference = []
    for line in (testdata / "vpdq" / "reference" / "chair-22-sd-sepia-bar.txt").read_text().split():
        index, quality, hex_hash, ts = line.split(",")
        reference.append((int(index), int(quality), hex_hash, float(ts)))
    features = vpdq.computeHash(video, seconds_per_hash=0, thread_count=2)
    assert len(features) == len(reference)
    distances = []
    for f, (index, quality, hex_hash, ts) in zip(features, reference):
        assert f.frame_number == index and abs(f.timestamp - ts) < 0.001
        if f.quality >= 80 and quality >= 80:
            distances.append(f.hamming_distance(vpdq.VpdqFeature(quality, index, vpdq.str_to_hash(hex_hash), ts)))
    assert distances and max(distances) <= 10 and sum(distances) / len(distances) <= 2


def test_vpdq_refuses_as_the_vpdq_package_does(tmp_path):
    with pytest.raises(ValueError):
        vpdq.computeHash(tmp_path / "absent.mp4")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\0" * 4096)
    with pytest.raises(ValueError):
        vpdq.computeHash(video, seconds_per_hash=-1)
    with pytest.raises(frameprint.Error) as raised:
        vpdq.computeHash(video)
    assert raised.value.code == "unsupported_format"


# ---------------------------------------------------------------------------
# Lists


def test_lists_match_as_the_cli_does(testdata, cli, tmp_path):
    rows = {r["file"]: r for r in vectors(testdata)}
    listed = tmp_path / "known.txt"
    listed.write_text(
        f"{rows['bridge-1-original.png']['pdq']},bridge\n"
        f"{rows['bridge-2-rotate-90.png']['pdq']},bridge-rotated\n"
    )
    known = frameprint.load_list(f"pdq:{listed}")
    assert known.stats[0]["rows"] == 2

    hits = known.lookup(rows["bridge-1-original.png"]["pdq"])
    assert [h["id"] for h in hits] == ["bridge"] and hits[0]["distance"] == 0
    bits = bits_of_hex(rows["bridge-1-original.png"]["pdq"])
    bits[:5] ^= 1  # five bits off: still within 31
    assert [h["distance"] for h in known.lookup(bits)] == [5]
    far = rows["bridge-3-rotate-180.png"]["pdq"]
    assert known.lookup(far) == []

    photo = testdata / "pdq" / "images" / "bridge-blur-a-little.jpg"
    result = frameprint.hash_file(photo, device="cpu")
    out = cli("match", "--list", f"pdq:{listed}", "-", stdin=json.dumps(result).encode())
    assert out.returncode == 0, out.stderr.decode()
    expected = json.loads(out.stdout.decode())["matches"]
    assert expected and known.match(result) == expected

    # hash_file(lists=...) is `frameprint hash --list`.
    [line] = cli.hash_lines("--list", f"pdq:{listed}", photo)
    assert frameprint.hash_file(photo, device="cpu", lists=known) == line


def test_a_bad_list_is_a_value_error_naming_the_file(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("not a hash\n")
    with pytest.raises(ValueError, match="bad.txt"):
        frameprint.load_list(f"pdq:{bad}")
    with pytest.raises(ValueError):
        frameprint.load_list(f"nosuchtype:{bad}")


def test_hostile_arguments_are_refused_cleanly(tmp_path, testdata):
    with pytest.raises(ValueError):
        frameprint.hash_file(str(testdata / "pdq" / "images" / "bridge-1-original.jpg") + "\0.txt")
    listed = tmp_path / "known.txt"
    listed.write_text("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22\n")
    known = frameprint.load_list(f"pdq:{listed}")
    deep = '{"a":' + "[" * 100000 + "]" * 100000 + "}"
    for bad in [deep, "[" * 100000 + "]" * 100000, "{not json", "[1, 2]"]:
        with pytest.raises(ValueError):
            known.match(bad)
    with pytest.raises(ValueError):
        known.lookup("xyz")
