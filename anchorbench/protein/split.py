"""Held-out-protein splits and the query grid (Gowri et al.'s protocol with the reference code's bugs fixed).

Fixed: held-out proteins are drawn WITHOUT replacement from a seeded generator (the reference used an unseeded
``np.random.choice(prots, 170)`` with replacement); whitening uses training rows only (the fit core computes it
from ``x_train``/``y_train``, which never contain a held-out protein); the early-stopping rows exclude the pairs of
two held-out proteins (the query grid's positives; the reference's validation rows were every pair touching a
held-out protein); duplicate pairs are dropped at load.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anchorbench.protein.dataset import ProteinSet


@dataclass(frozen=True)
class TrialSplit:
    """One trial: held-out proteins, the pair rows that train and validate, and the query grid's labels."""

    held_out: np.ndarray  # [h] protein indices, distinct, in draw order
    train_rows: np.ndarray  # pair indices with neither protein held out
    val_rows: np.ndarray  # pair indices with exactly one held-out protein (early stopping only)
    labels: np.ndarray  # [h, h] bool: (held_out[a] -> held_out[b]) is listed: the AUROC's positives

    def arrays(self, ps: ProteinSet) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """x_train, y_train, x_val, y_val: source and target embeddings of the rows, ``[rows, d]``."""
        e = ps.embeddings
        return (e[ps.src[self.train_rows]], e[ps.dst[self.train_rows]],
                e[ps.src[self.val_rows]], e[ps.dst[self.val_rows]])

    def queries(self, ps: ProteinSet) -> np.ndarray:
        """Embeddings of the held-out proteins ``[h, d]``: the grid's rows (sources) and columns (targets)."""
        return ps.embeddings[self.held_out]


def trial_rng(seed: int, trial: int, purpose: str = "outer") -> np.random.Generator:
    """A generator per (seed, trial, purpose), independent of how many trials run."""
    return np.random.default_rng([seed, trial, {"outer": 0, "inner": 1}[purpose]])


def draw_held_out(proteins: np.ndarray, n_held: int, rng: np.random.Generator) -> np.ndarray:
    """``n_held`` distinct proteins from ``proteins`` (without replacement)."""
    if n_held >= len(proteins):
        raise ValueError(f"held_out = {n_held} proteins must be fewer than the {len(proteins)} available")
    return rng.choice(proteins, size=n_held, replace=False)


def split_pairs(ps: ProteinSet, held_out: np.ndarray, rows: np.ndarray | None = None) -> TrialSplit:
    """Split pair ``rows`` (default all) by ``held_out``: train = pairs with neither protein held out, val = pairs
    with exactly one. A pair of two held-out proteins is a positive of the query grid: it is in neither part, so
    early stopping never sees the pairs the AUROC is scored on."""
    rows = np.arange(ps.n_pairs) if rows is None else rows
    held = np.zeros(ps.n_proteins, bool)
    held[held_out] = True
    touched = held[ps.src[rows]].astype(int) + held[ps.dst[rows]]  # held-out proteins in each pair: 0, 1 or 2
    return TrialSplit(held_out, rows[touched == 0], rows[touched == 1], ps.listed(held_out, held_out))


def outer_split(ps: ProteinSet, n_held: int, seed: int, trial: int) -> TrialSplit:
    """Trial ``trial``: hold out ``n_held`` of all proteins."""
    return split_pairs(ps, draw_held_out(np.arange(ps.n_proteins), n_held, trial_rng(seed, trial)))


def inner_split(ps: ProteinSet, outer: TrialSplit, n_held: int, seed: int, trial: int) -> TrialSplit:
    """A split of the outer trial's TRAINING pairs only (tuning): hold out ``n_held`` of the proteins that
    appear in them; the outer held-out proteins are never seen, neither as queries nor as rows."""
    rows = outer.train_rows
    proteins = np.unique(np.concatenate([ps.src[rows], ps.dst[rows]]))
    return split_pairs(ps, draw_held_out(proteins, n_held, trial_rng(seed, trial, "inner")), rows)
