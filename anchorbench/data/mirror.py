"""Where the public data comes from: a local read-only mirror, or a clear error saying what to do."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "ANCHORBENCH_DATA_MIRROR"
REPO = Path(__file__).resolve().parents[2]

SOURCES = {
    "mnist/t10k-images-idx3-ubyte.gz": "the official MNIST test images (https://yann.lecun.com/exdb/mnist/, or any "
                                       "mirror such as https://ossci-datasets.s3.amazonaws.com/mnist/)",
    "mnist/t10k-labels-idx1-ubyte.gz": "the official MNIST test labels (same source as the images)",
    "imdb_bert/imdb_bert_finetuned.npz": "repository kyungeun-lee/mibenchmark, folder dataset/imdb.bert-imdb-finetuned/"
                                         "{0,1}/{i}.npy, packed in order of i into one npz with arrays embeddings "
                                         "float32 [25000, 768], labels int8, review_index int32",
}


def mirror_dir(setting: str | None = None) -> Path | None:
    """The mirror folder: the ``data.mirror`` setting, else $ANCHORBENCH_DATA_MIRROR, else
    ``../shared/data`` beside the repo if it exists; None when none is configured or found."""
    if setting:
        return Path(setting).expanduser().resolve()
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser().resolve()
    beside = REPO.parent / "shared" / "data"
    return beside if beside.is_dir() else None


def require_file(relpath: str, setting: str | None = None) -> Path:
    """Path of ``relpath`` inside the mirror; FileNotFoundError naming the file, the settings and the source."""
    root = mirror_dir(setting)
    path = root / relpath if root else None
    if path is not None and path.is_file():
        return path
    where = f"looked in {root}" if root else "no mirror is configured"
    raise FileNotFoundError(
        f"data file {relpath!r} not found ({where}). Put it in a folder and point the `data.mirror` setting in "
        f"params.yaml or the {ENV} environment variable at that folder. Source: {SOURCES.get(relpath, 'see README')}.")
