"""A protein interaction set on disk and in memory: embeddings, directed pairs and (synthetic only) the truth.

Layout of ``<root>/<dataset>/``:
    proteins.csv      accession per row; row i is embedding i
    embeddings.npy    float32 [n_proteins, 1024]
    pairs.csv         source, target (accessions; directed: kinase -> substrate, ligand -> receptor)
    truth.npz         synthetic stand-in only: u, v [n_proteins, r] and beta; the generator's interaction
                      log-weight of the ordered pair (i, j) is beta * u_i . v_j / sqrt(r) where the roles allow it;
                      and the generator's inclusion model (the Bayes reference, Truth.inclusion)
and ``<root>/manifest.json`` (the data stage's, ``anchorbench.io.write_manifest``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anchorbench.io import atomic_path

FILES = ("proteins.csv", "embeddings.npy", "pairs.csv")
MASKED = -1e9  # log-weight of an ordered pair the roles forbid (a ligand never binds a ligand)


@dataclass(frozen=True)
class Truth:
    """The stand-in's latent interaction rule, log-weight(i -> j) = beta * u_i . v_j / sqrt(r) + role mask, and the
    generator's inclusion model (``anchorbench.protein.synthetic.inclusion_model``): per protein the normaliser of
    its own-partner draw, and the second stage's rate (log_lambda, on weights scaled by exp(-log_scale))."""

    u: np.ndarray  # [n, r] source-side factors
    v: np.ndarray  # [n, r] target-side factors
    beta: float
    source_role: np.ndarray  # [n] bool: may be a source
    target_role: np.ndarray  # [n] bool: may be a target
    row_norm: np.ndarray | None = None  # [n] a source's sum of scaled weights over its allowed targets
    col_norm: np.ndarray | None = None  # [n] a non-source's sum of scaled weights over the sources
    log_lambda: float = math.nan
    log_scale: float = math.nan

    def log_weight(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Grid of log-weights ``[len(src), len(dst)]`` for protein indices (a reference score)."""
        logit = self.beta * (self.u[src] @ self.v[dst].T) / np.sqrt(self.u.shape[1])
        allowed = self.source_role[src][:, None] & self.target_role[dst][None, :]
        return np.where(allowed, logit, MASKED)

    def inclusion(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Grid ``[len(src), len(dst)]`` of each ordered pair's probability of being listed by the generator: the
        Bayes ranking of "is this pair listed". First stage exact: i (a source) drew j, or j (not a source) drew
        i; second stage, the rest drawn without replacement in proportion to w, by the large-population form
        1 - exp(-lambda w) (checked against Monte Carlo re-runs of the generator in the tests)."""
        if self.row_norm is None:
            raise ValueError("this truth has no inclusion model: rebuild the protein_data stage")
        lw = self.log_weight(src, dst)
        w = np.where(lw > MASKED / 2, np.exp(lw - self.log_scale), 0.0)
        own = w / np.where(self.source_role[src], self.row_norm[src], np.inf)[:, None]  # i drew j
        picked = w / np.where(self.source_role[dst], np.inf, self.col_norm[dst])[None, :]  # j drew i
        first = 1 - (1 - own) * (1 - picked)
        return first + (1 - first) * -np.expm1(-np.exp(self.log_lambda) * w)


@dataclass(frozen=True)
class ProteinSet:
    """One interaction dataset; ``src``/``dst`` index rows of ``embeddings`` (pairs are unique)."""

    name: str
    accessions: np.ndarray  # [n] str
    embeddings: np.ndarray  # [n, d] float32
    src: np.ndarray  # [m] int64
    dst: np.ndarray  # [m] int64
    truth: Truth | None = None

    @property
    def n_proteins(self) -> int:
        return len(self.accessions)

    @property
    def n_pairs(self) -> int:
        return len(self.src)

    def listed(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Bool grid ``[len(rows), len(cols)]``: is the ordered pair (rows[a], cols[b]) listed?"""
        n = self.n_proteins
        keys = np.sort(self.src * n + self.dst)
        grid = rows[:, None].astype(np.int64) * n + cols[None, :]
        pos = np.searchsorted(keys, grid).clip(max=len(keys) - 1)
        return keys[pos] == grid


def save(ps: ProteinSet, root: Path) -> list[Path]:
    """Write ``ps`` under ``root/ps.name`` atomically; byte-identical for identical inputs."""
    folder = Path(root) / ps.name
    with atomic_path(folder / "proteins.csv") as tmp:
        pd.DataFrame({"accession": ps.accessions}).to_csv(tmp, index=False)
    with atomic_path(folder / "embeddings.npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, ps.embeddings.astype(np.float32))
    with atomic_path(folder / "pairs.csv") as tmp:
        pd.DataFrame({"source": ps.accessions[ps.src], "target": ps.accessions[ps.dst]}).to_csv(tmp, index=False)
    written = [folder / f for f in FILES]
    if ps.truth is not None:
        t = ps.truth
        with atomic_path(folder / "truth.npz") as tmp:
            with open(tmp, "wb") as fh:  # np.savez stamps no time: the zip entries carry the fixed 1980 date
                np.savez(fh, u=t.u, v=t.v, beta=np.float64(t.beta), source_role=t.source_role,
                         target_role=t.target_role, row_norm=t.row_norm, col_norm=t.col_norm,
                         log_lambda=np.float64(t.log_lambda), log_scale=np.float64(t.log_scale))
        written.append(folder / "truth.npz")
    return written


def load(root: Path, name: str) -> ProteinSet:
    """Read ``root/name`` written by :func:`save`; FileNotFoundError names a missing file and the stage."""
    folder = Path(root) / name
    for f in FILES:
        if not (folder / f).is_file():
            raise FileNotFoundError(f"protein dataset {name!r}: {folder / f} is missing; run the protein_data stage "
                                    "(`dvc repro protein_data` or `python -m flows protein data`)")
    accessions = pd.read_csv(folder / "proteins.csv", dtype=str)["accession"].to_numpy()
    index = pd.Series(np.arange(len(accessions)), index=accessions)
    pairs = pd.read_csv(folder / "pairs.csv", dtype=str)
    truth = None
    if (folder / "truth.npz").is_file():
        with np.load(folder / "truth.npz") as z:
            truth = Truth(z["u"], z["v"], float(z["beta"]), z["source_role"], z["target_role"], z["row_norm"],
                          z["col_norm"], float(z["log_lambda"]), float(z["log_scale"]))
    return ProteinSet(name, accessions, np.load(folder / "embeddings.npy"),
                      index[pairs["source"]].to_numpy(np.int64), index[pairs["target"]].to_numpy(np.int64), truth)
