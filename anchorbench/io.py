"""Atomic file writes: a crash never leaves a half-written output behind."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from anchorbench import paths


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256(path: str | Path) -> str:
    return file_digest(path, "sha256")


def _temp_dir(path: Path) -> Path:
    """Where a file under construction lives: ``<outputs>/.cache/tmp`` for stage outputs (so a killed run
    never leaves a partial file in ``results/`` or ``data/``; same filesystem, so the rename is atomic),
    else the target's own folder."""
    root = paths.outputs()
    return root / ".cache" / "tmp" if path.resolve().is_relative_to(root) else path.parent


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path; on success rename it over ``path`` (readers see the old file or the new
    one, never half of one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = _temp_dir(path)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: str | Path, obj) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    return Path(path)


def save_figure(fig, path: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure as PNG atomically, then close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return Path(path)


MANIFEST = "manifest.json"


def write_manifest(folder: str | Path, info: dict, settings: dict) -> dict:
    """``<folder>/manifest.json``, every data stage's one format: the sha256 of every file under ``folder``
    (paths relative to it, sorted), the stage's ``settings`` and its own ``info`` (counts, sources). Returns it."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {"files": {p.relative_to(folder).as_posix(): sha256(p) for p in files}, "settings": settings, **info}
    write_json(folder / MANIFEST, manifest)
    return manifest


def manifest_version(folder: str | Path) -> str:
    """Short hash of a data stage's ``manifest.json`` (part of the resume key of what trains on it), or ``none``."""
    path = Path(folder) / MANIFEST
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else "none"


def write_frame(path: str | Path, frame) -> Path:
    """Write a DataFrame as parquet or csv (by suffix), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
    return path
