"""Tiny protein datasets for the tests."""

import numpy as np

from anchorbench.protein import synthetic
from anchorbench.protein.dataset import ProteinSet

SMOKE_SCALE = 0.12  # ligand: 204 proteins, 540 pairs


def small_ligand(seed: int = 0) -> ProteinSet:
    return synthetic.generate("ligand", scale=SMOKE_SCALE, seed=seed)


def toy_set(n: int = 6, d: int = 4) -> ProteinSet:
    """n proteins with embedding i = i everywhere; pairs 0->1, 1->2, 2->0, 3->4, 0->5."""
    emb = np.repeat(np.arange(n, dtype=np.float32)[:, None], d, axis=1)
    src, dst = np.array([0, 1, 2, 3, 0]), np.array([1, 2, 0, 4, 5])
    return ProteinSet("toy", np.array([f"P{i}" for i in range(n)]), emb, src, dst)
