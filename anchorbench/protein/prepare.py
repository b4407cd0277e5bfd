"""The ``protein_data`` stage's work: build (synthetic) or read (real) each dataset and save it."""

from __future__ import annotations

import numpy as np

from anchorbench.protein import synthetic
from anchorbench.protein.config import ProteinDataParams
from anchorbench.protein.dataset import ProteinSet
from anchorbench.protein.loaders import load_real


def build(p: ProteinDataParams, name: str) -> ProteinSet:
    if p.source == "real":
        return load_real(name, p.mirror)
    return synthetic.generate(name, scale=p.scale, seed=p.seed)


def describe(ps: ProteinSet) -> dict:
    """Counts for the manifest and the flow's summary."""
    return {"proteins": ps.n_proteins, "pairs": ps.n_pairs, "dim": int(ps.embeddings.shape[1]),
            "sources": int(len(np.unique(ps.src))), "targets": int(len(np.unique(ps.dst))),
            "has_truth": ps.truth is not None}
