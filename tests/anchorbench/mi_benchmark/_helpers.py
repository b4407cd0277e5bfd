"""Small synthetic inputs shared by the data tests (no real data needed)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import torch

from anchorbench import mirror

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``: magic 0x0000<dtype><ndim>, big-endian sizes, big-endian data."""
    code = IDX_CODES[array.dtype]
    return struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape) + array.tobytes()


def write_fake_mirror(root, n_mnist: int = 30, n_text: int = 400, dim: int = 8, seed: int = 0):
    """A mirror folder with fake MNIST t10k IDX gz files (digits 0, 1, 2) and a fake IMDB-BERT npz."""
    rng = np.random.default_rng(seed)
    (root / "mnist").mkdir(parents=True)
    (root / "imdb_bert").mkdir()
    images = rng.integers(0, 256, (n_mnist, 28, 28), dtype=np.uint8)
    labels = (np.arange(n_mnist) % 3).astype(np.uint8)
    (root / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
    (root / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    emb = rng.standard_normal((n_text, dim)).astype(np.float32)
    text_labels = (np.arange(n_text) % 2).astype(np.int8)
    np.savez(root / "imdb_bert" / "imdb_bert_finetuned.npz", embeddings=emb, labels=text_labels,
             review_index=np.arange(n_text, dtype=np.int32))
    write_checksums(root)
    return images, labels, emb, text_labels


def write_checksums(root) -> None:
    """The mirror's SHA256SUMS: these fake files declare their own hashes (anchorbench.mirror.expected_sha256)."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != mirror.CHECKSUMS)
    (root / mirror.CHECKSUMS).write_text("".join(f"{mirror.sha256(p)}  {p.relative_to(root).as_posix()}\n"
                                                 for p in files))


def constant_digit_pool(n: int = 12) -> dict:
    """Class-0 images all 0, class-1 images all 255, so a tile's mean is its class bit."""
    labels = torch.arange(n) % 2
    images = (labels[:, None, None] * 255).expand(n, 28, 28).to(torch.uint8).contiguous()
    return {"images": images, "labels": labels}
