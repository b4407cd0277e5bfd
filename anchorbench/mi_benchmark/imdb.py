"""IMDB-BERT sentence embeddings (pooler output of an IMDB-fine-tuned BERT, values in [-1, 1])."""

from __future__ import annotations

import numpy as np

from anchorbench.mirror import require_file


def load_imdb_bert(mirror: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings float32 ``[N, 768]`` and sentiment labels int64 ``[N]`` (0 negative, 1 positive)."""
    path = require_file("imdb_bert/imdb_bert_finetuned.npz", mirror)
    with np.load(path) as z:
        missing = {"embeddings", "labels"} - set(z.files)
        if missing:
            raise ValueError(f"{path}: expected arrays 'embeddings' [N, 768] and 'labels' [N], "
                             f"missing {sorted(missing)} (has {z.files})")
        emb, labels = z["embeddings"].astype(np.float32), z["labels"].astype(np.int64)
    if emb.ndim != 2 or len(emb) != len(labels) or not np.isin(labels, (0, 1)).all():
        raise ValueError(f"{path}: embeddings {emb.shape} and labels {labels.shape} must be [N, D] and [N] "
                         "with 0/1 labels")
    return emb, labels
