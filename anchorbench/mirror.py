"""Where the public data comes from: a local read-only mirror, or a clear error saying what to do."""

from __future__ import annotations

import os
from pathlib import Path

from anchorbench.io import sha256
from anchorbench.paths import REPO

ENV = "ANCHORBENCH_DATA_MIRROR"

SOURCES = {
    "mnist/t10k-images-idx3-ubyte.gz": "the official MNIST test images (https://yann.lecun.com/exdb/mnist/, or any "
                                       "mirror such as https://ossci-datasets.s3.amazonaws.com/mnist/)",
    "mnist/t10k-labels-idx1-ubyte.gz": "the official MNIST test labels (same source as the images)",
    "imdb_bert/imdb_bert_finetuned.npz": "repository kyungeun-lee/mibenchmark, folder dataset/imdb.bert-imdb-finetuned/"
                                         "{0,1}/{i}.npy, packed in order of i into one npz with arrays embeddings "
                                         "float32 [25000, 768], labels int8, review_index int32",
}

CHECKSUMS = "SHA256SUMS"
# sha256 of the published files: a truncated or corrupted copy is named, not read.
KNOWN_SHA256 = {
    "mnist/t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "mnist/t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "imdb_bert/imdb_bert_finetuned.npz": "757667d9063a95adaf23e32f536cc301ca643ac5876e89d9427035ac66e6d197",
}


def expected_sha256(relpath: str, path: Path) -> str | None:
    """The hash ``relpath`` must have: the mirror's own ``SHA256SUMS`` (``<sha256>  <relpath>`` lines, as
    sha256sum writes them; a mirror of other copies declares them there), else the published one."""
    root = path.parents[len(Path(relpath).parts) - 1]
    sums = root / CHECKSUMS
    if sums.is_file():
        for line in sums.read_text().splitlines():
            digest, _, name = line.strip().partition("  ")
            if name == relpath:
                return digest
    return KNOWN_SHA256.get(relpath)


def verify(relpath: str, path: Path) -> None:
    """ValueError naming the file when its sha256 differs from the expected one (truncated, corrupted)."""
    expected = expected_sha256(relpath, path)
    if expected is not None and (actual := sha256(path)) != expected:
        raise ValueError(f"data file {str(path)!r} is truncated or corrupted: sha256 {actual[:12]}... differs "
                         f"from the expected {expected[:12]}...; fetch it again from {SOURCES[relpath]} (or set "
                         "data.verify_hashes: false for a deliberately different copy)")


def mirror_dir(setting: str | None = None) -> Path | None:
    """The mirror folder: the data section's ``mirror`` setting, else $ANCHORBENCH_DATA_MIRROR, else
    ``../shared/data`` beside the repo if it exists; None when none is configured or found."""
    if setting:
        return Path(setting).expanduser().resolve()
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser().resolve()
    beside = REPO.parent / "shared" / "data"
    return beside if beside.is_dir() else None


def require_file(relpath: str, setting: str | None = None, source: str | None = None) -> Path:
    """Path of ``relpath`` inside the mirror; FileNotFoundError naming the file, the settings and the source
    (``source``, else the entry of ``SOURCES``)."""
    root = mirror_dir(setting)
    path = root / relpath if root else None
    if path is not None and path.is_file():
        return path
    where = f"looked in {root}" if root else "no mirror is configured"
    raise FileNotFoundError(
        f"data file {relpath!r} not found ({where}). Put it in a folder and point the `mirror` key of the "
        f"experiment's data section in params.yaml (e.g. `mi_benchmark_data.mirror`) or the {ENV} environment "
        f"variable at that folder. "
        f"Source: {source or SOURCES.get(relpath, 'see README')}.")
