"""MNIST in its original IDX format (gzip or raw)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from anchorbench.mirror import require_file

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
           0x0E: np.dtype(">f8")}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file: magic 0x0000 <dtype> <ndim>, ndim big-endian int32 sizes, then the data."""
    path = Path(path)
    raw = path.read_bytes()
    # decide by content, not by suffix: mirrors ship both *.gz and already-unpacked files
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES or raw[3] == 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    dtype, ndim = np.dtype(_DTYPES[raw[2]]), raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes for {ndim} dimensions)")
    shape = tuple(np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: IDX header says shape {shape} but holds {data.size} values")
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist_digits(mirror: str | None = None, digits: tuple[int, ...] = (0, 1)) -> tuple[np.ndarray, np.ndarray]:
    """MNIST test-split images of ``digits``: uint8 ``[N, 28, 28]`` and int64 labels ``[N]``."""
    images = read_idx(require_file("mnist/t10k-images-idx3-ubyte.gz", mirror))
    labels = read_idx(require_file("mnist/t10k-labels-idx1-ubyte.gz", mirror)).astype(np.int64)
    if images.ndim != 3 or len(images) != len(labels):
        raise ValueError(f"MNIST images {images.shape} and labels {labels.shape} do not match")
    keep = np.isin(labels, digits)
    return images[keep], labels[keep]
