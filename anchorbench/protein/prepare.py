"""The ``protein_data`` stage's work: build (synthetic) or read (real) each dataset, save it, write the manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anchorbench.protein import synthetic
from anchorbench.protein.config import ProteinDataParams
from anchorbench.protein.dataset import ProteinSet, save, write_manifest
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


def prepare(p: ProteinDataParams, root: Path, name: str) -> dict:
    """Write dataset ``name`` under ``root``; return its file paths and counts."""
    ps = build(p, name)
    return {"name": name, "files": [str(f) for f in save(ps, root)], **describe(ps)}


def finish(p: ProteinDataParams, root: Path, prepared: list[dict]) -> dict:
    """The manifest over every prepared dataset (sha256 per file, settings, counts)."""
    files = [Path(f) for d in prepared for f in d["files"]]
    info = {"source": p.source, "settings": p.model_dump(mode="json"),
            "datasets": {d["name"]: {k: v for k, v in d.items() if k not in ("name", "files")} for d in prepared}}
    if p.source == "synthetic":
        info["note"] = ("synthetic stand-in for ProtT5 + OmniPath (anchorbench/protein/synthetic.py); "
                        "truth.npz holds the generator's interaction rule (the oracle)")
    return write_manifest(root, files, info)
