"""The ``vpdq`` package's calls, on frameprint's decoder and PDQ.

``import frameprint.vpdq as vpdq`` and code written for ``vpdq`` runs
unchanged. No ``ffmpeg`` program is needed: frameprint decodes with FFmpeg's
libraries in process (``ffmpeg_path`` is accepted and ignored).
"""

from dataclasses import dataclass
from pathlib import Path

from . import hash_file

__all__ = ["VpdqFeature", "computeHash", "hamming_distance", "hash_to_hex", "str_to_hash"]


def str_to_hash(str_hash):
    """A hex PDQ hash as the vpdq package holds it: {"w": 16 16-bit words},
    w[0] the least significant."""
    s = str(str_hash)
    if len(s) != 64:
        raise ValueError("not a PDQ hash (64 hex digits): " + s)
    return {"w": [int(s[(15 - i) * 4 : (16 - i) * 4], 16) for i in range(16)]}


def hash_to_hex(hash_value):
    return "".join("%04x" % w for w in reversed(hash_value["w"]))


def hamming_distance(hash1, hash2):
    return sum(bin(a ^ b).count("1") for a, b in zip(hash1["w"], hash2["w"]))


@dataclass
class VpdqFeature:
    quality: int
    frame_number: int
    hash: dict
    hex: str
    timestamp: float

    def __init__(self, quality, frame_number, hash, timestamp):
        self.quality = quality
        self.frame_number = frame_number
        self.hash = hash
        self.hex = hash_to_hex(hash)
        self.timestamp = timestamp

    def hamming_distance(self, that):
        return hamming_distance(self.hash, that.hash)


def computeHash(
    input_video_filename,
    ffmpeg_path=None,
    seconds_per_hash=1.0,
    verbose=False,
    downsample_width=0,
    downsample_height=0,
    thread_count=0,
):
    """The video's vPDQ features: one per hashed frame, in order, with
    frame_number, timestamp (seconds), quality, hex and hash.

    Raises ValueError for a file that does not exist or a negative
    argument, as the vpdq package does, and frameprint.Error (an Exception,
    carrying the error code) when the video cannot be hashed.
    downsample_width and downsample_height are accepted and ignored:
    frameprint hashes every frame at its own resolution (PDQ downsamples to
    64 x 64 itself), as the reference does when they are 0.
    """
    path = str(input_video_filename)
    if not Path(path).is_file():
        raise ValueError("Input_video_filename doesn't exist")
    if seconds_per_hash < 0:
        raise ValueError("Seconds_per_hash must be non-negative")
    if downsample_width < 0:
        raise ValueError("Downsample_width must be non-negative")
    if downsample_height < 0:
        raise ValueError("Downsample_height must be non-negative")
    if thread_count < 0:
        raise ValueError("Thread_count must be non-negative")
    result = hash_file(path, seconds_per_hash, threads=min(int(thread_count), 64))
    if verbose:
        import sys

        print(
            f"{path}: {len(result['frames'])} frames hashed ({result.get('codec', '')})",
            file=sys.stderr,
        )
    return [
        VpdqFeature(f["quality"], f["index"], str_to_hash(f["pdq"]), f["ts"])
        for f in result["frames"]
    ]

