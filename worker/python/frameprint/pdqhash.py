"""The ``pdqhash`` package's calls, on frameprint's PDQ.

``import frameprint.pdqhash as pdqhash`` and code written for ``pdqhash``
runs unchanged: the same arguments (an RGB uint8 array of shape
(height, width, 3)), the same return shapes and dtypes. Luma is computed in
float with the reference's coefficients, so the hashes equal Meta's
reference bit for bit on the same pixels. Arrays are read in place,
whatever their strides; a (height, width) uint8 array is hashed as luma.
"""

import numpy as np

from . import _native

__all__ = ["compute", "compute_dihedral", "compute_float"]


def compute(image):
    """(hash, quality): the hash as an int64 array of 256 bits, most
    significant first (the order of the hex string); quality 0..100."""
    return _native.pdq_from_array(np.asarray(image), 0)


def compute_dihedral(image):
    """([8 hashes], quality): the original, rotate90, rotate180, rotate270,
    flipx, flipy, flipplus1 and flipminus1 hashes, each as compute() gives."""
    return _native.pdq_from_array(np.asarray(image), 1)


def compute_float(image):
    """(coefficients, quality): the 256 DCT coefficients the hash bits are
    taken from (a bit is set when its coefficient exceeds their median), in
    the order of compute()'s bits, as float64."""
    return _native.pdq_from_array(np.asarray(image), 2)
