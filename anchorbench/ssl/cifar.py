"""CIFAR-100 from the standard python-pickle archive (``cifar-100-python/{train,test,meta}``) in the data mirror."""

from __future__ import annotations

import pickle

import numpy as np

from anchorbench.mirror import require_file

SOURCE = ("the CIFAR-100 python version, https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz, unpacked "
          "(folder cifar-100-python with the pickles train, test and meta)")


def _unpickle(relpath: str, mirror: str | None) -> dict:
    path = require_file(relpath, mirror, source=SOURCE)
    with open(path, "rb") as fh:
        try:
            return pickle.load(fh, encoding="bytes")
        except (pickle.UnpicklingError, EOFError) as exc:
            raise ValueError(f"{path}: not a CIFAR-100 pickle ({exc})") from None


def load_cifar100(split: str, mirror: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images ``uint8 [N, 3, 32, 32]`` and fine labels ``int64 [N]`` (0..99) of ``split`` in {train, test}."""
    if split not in ("train", "test"):
        raise ValueError(f"CIFAR-100 split must be 'train' or 'test', got {split!r}")
    batch = _unpickle(f"cifar-100-python/{split}", mirror)
    try:
        data, labels = batch[b"data"], batch[b"fine_labels"]
    except KeyError as exc:
        raise ValueError(f"cifar-100-python/{split}: missing key {exc} (expected b'data' and b'fine_labels')") from None
    images = np.asarray(data, dtype=np.uint8)
    if images.ndim != 2 or images.shape[1] != 3 * 32 * 32 or len(images) != len(labels):
        raise ValueError(f"cifar-100-python/{split}: data {images.shape} / {len(labels)} labels is not N x 3072 / N")
    return images.reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.int64)


def cifar100_classes(mirror: str | None = None) -> list[str]:
    """The 100 fine label names from ``meta``."""
    return [n.decode() for n in _unpickle("cifar-100-python/meta", mirror)[b"fine_label_names"]]
