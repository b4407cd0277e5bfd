"""IMDB-BERT sentence embeddings (pooler output of an IMDB-fine-tuned BERT, values in [-1, 1])."""

from __future__ import annotations

import numpy as np

from anchorbench.data.mirror import require_file


def load_imdb_bert(mirror: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings float32 ``[N, 768]`` and sentiment labels int64 ``[N]`` (0 negative, 1 positive)."""
    with np.load(require_file("imdb_bert/imdb_bert_finetuned.npz", mirror)) as z:
        return z["embeddings"].astype(np.float32), z["labels"].astype(np.int64)
