"""frameprint from Python: PDQ and vPDQ hashing and list matching.

The same native libraries as the ``frameprint`` programs, so a hash made
here equals the one ``frameprint hash`` prints for the same file. Drop-in
modules for code written against the ``pdqhash`` and ``vpdq`` packages are
``frameprint.pdqhash`` and ``frameprint.vpdq`` (docs/python.md).

Decoding, hashing and list loading release the GIL: threads hashing
different files run in parallel.
"""

import json
import os
import threading

from . import _native

__all__ = [
    "Error",
    "ERROR_CODES",
    "List",
    "hash_file",
    "load_list",
    "version",
]

# frameprint's error codes (docs/output.md), as Error.code carries them.
ERROR_CODES = (
    "io_error",
    "empty_file",
    "unsupported_format",
    "decode_failed",
    "truncated",
    "too_large",
    "timeout",
    "no_video_stream",
    "no_frames",
    "bad_request",
    "path_not_allowed",
    "url_not_allowed",
    "fetch_failed",
    "decoder_crashed",
    "internal",
)


class Error(Exception):
    """A file frameprint could not hash.

    ``code`` is one of ERROR_CODES, ``message`` says why, and ``result`` is
    the whole result object (with the frames hashed before a limit stopped
    decoding, when ``result["partial"]`` is true).
    """

    def __init__(self, code, message, result=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.result = result


def version():
    """What ``frameprint --version`` prints: version, revision, CUDA, libraries."""
    return _native.version_text()


_hashers = {}
_hashers_lock = threading.Lock()


def _hasher(device):
    with _hashers_lock:
        hasher = _hashers.get(device)
        if hasher is None:
            hasher = _native.Hasher(device)
            _hashers[device] = hasher
        return hasher


def _path_or_bytes(value):
    if isinstance(value, (str, os.PathLike)):
        path = os.fsencode(value)
        if b"\0" in path:
            raise ValueError("hash_file: embedded null byte in the path")
        return path, True
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value, False
    try:  # anything else that exposes its bytes, e.g. a uint8 numpy array
        memoryview(value)
    except TypeError:
        raise TypeError(
            "hash_file: expected a path (str or os.PathLike) or bytes, got "
            + type(value).__name__
        ) from None
    return value, False


def hash_file(
    path_or_bytes,
    seconds_per_hash=1.0,
    dihedral=False,
    device="auto",
    *,
    exact=False,
    threads=1,
    max_pixels=0,
    max_seconds=0,
    lists=None,
):
    """Hash one image or video, from a path or from its bytes.

    Returns the object one ``frameprint hash`` JSON line holds, as a dict:
    ``kind``, ``md5``, ``sha1``, ``sha256``, ``frames`` (``index``, ``ts``,
    ``quality``, ``pdq``), ... (docs/output.md). Raises Error, carrying the
    code, when the file cannot be hashed.

    seconds_per_hash: one hash per this many seconds of video (0: every
    frame). dihedral: add the seven rotated/flipped hashes of each frame.
    device: "auto", "cpu", "cuda" or "cuda:N", as ``--device``. exact: stills
    the reference's way (``--exact``). threads: decoder threads per video
    (0: FFmpeg chooses). max_pixels, max_seconds: the limits of
    ``--max-pixels`` and ``--max-seconds`` (0: the defaults). lists: a List
    from load_list(); the result gains ``matches`` as with ``frameprint hash
    --list`` (which hashes extra variants for matching).
    """
    data, is_path = _path_or_bytes(path_or_bytes)
    native_list = lists._native if lists is not None else None
    text = _hasher(device).hash(
        data,
        is_path,
        float(seconds_per_hash),
        bool(dihedral),
        bool(exact),
        int(threads),
        int(max_pixels),
        float(max_seconds),
        native_list,
    )
    result = json.loads(text)
    if result.get("status") == "error":
        err = result.get("error", {})
        raise Error(err.get("code", "internal"), err.get("message", ""), result)
    return result


def _pdq_hex(value):
    if isinstance(value, str):
        return value
    bits = [int(b) for b in value]
    if len(bits) != 256:
        raise ValueError("lookup: a PDQ bit vector has 256 elements")
    return "".join(
        "%x" % (bits[i] << 3 | bits[i + 1] << 2 | bits[i + 2] << 1 | bits[i + 3])
        for i in range(0, 256, 4)
    )


class List:
    """Hash lists loaded with the CLI's ``--list`` rules; see load_list()."""

    def __init__(self, native, specs):
        self._native = native
        self.specs = list(specs)

    @property
    def stats(self):
        """What each list held when loaded (``frameprint match --list-stats``)."""
        return json.loads(self._native.stats())

    def lookup(self, pdq=None, *, quality=100, md5=None, sha256=None):
        """The matches of one photo's PDQ hash (hex, or the pdqhash bit
        vector) and/or its digests, as a list of match objects."""
        if pdq is None and md5 is None and sha256 is None:
            raise ValueError("lookup: give a pdq hash, an md5 or a sha256")
        hex_hash = None if pdq is None else _pdq_hex(pdq)
        return json.loads(self._native.lookup(hex_hash, int(quality), md5, sha256))

    def match(self, result):
        """The matches of a hash_file() result (or a ``frameprint hash`` JSON
        line, as dict or text), judged as ``frameprint match`` does."""
        text = result if isinstance(result, str) else json.dumps(result)
        return json.loads(self._native.annotate(text)).get("matches", [])


def load_list(spec, *, threshold=31, min_quality=50, vpdq_rule=None, allow_empty=False):
    """Load one list spec or several, as ``--list`` takes them:
    ``TYPE:PATH``, ``TYPE:FORMAT:PATH``, ``FORMAT:PATH`` or ``auto:PATH``
    (docs/output.md). threshold, min_quality and vpdq_rule ("time", "pytx"
    or "frames") are the CLI's flags of those names. Raises ValueError for
    a spec or a list file that is not valid, naming the file and line."""
    specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    specs = [os.fspath(s) for s in specs]
    native = _native.List(specs, int(threshold), int(min_quality), vpdq_rule, bool(allow_empty))
    return List(native, specs)
