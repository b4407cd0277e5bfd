"""The data stage: compact sampling pools from the mirror, written atomically (the generic data stage adds the
manifest, ``anchorbench.io.write_manifest``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from anchorbench.io import MANIFEST, atomic_path, file_digest, sha256
from anchorbench.mi_benchmark.imdb import load_imdb_bert
from anchorbench.mi_benchmark.mnist import load_mnist_digits
from anchorbench.mirror import require_file
from anchorbench.mirror import verify as verify_file

SOURCE_FILES = {"mnist": ["mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"],
                "imdb_bert": ["imdb_bert/imdb_bert_finetuned.npz"]}


def _source_entry(rel: str, mirror: str | None, verify: bool) -> dict:
    # md5 as well: the official MNIST checksums are published as md5 (data/README.md)
    path = require_file(rel, mirror)
    if verify:
        verify_file(rel, path)
    return {"path": rel, "sha256": sha256(path), "md5": file_digest(path, "md5")}


def _save(pool: dict, path: Path) -> None:
    # torch.save names the archive's inner folder after a path's stem (here a random temporary name, so
    # every run hashed differently); through a file object the folder is always "archive".
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(pool, fh)


def build_pool(name: str, mirror: str | None = None) -> dict[str, torch.Tensor]:
    """The sampling pool of ``name`` read from the mirror: images uint8 ``[n, 28, 28]`` (mnist) or
    embeddings float32 ``[n, 768]`` (imdb_bert), and labels ``[n]``."""
    if name == "mnist":
        images, labels = load_mnist_digits(mirror)
        return {"images": torch.from_numpy(images), "labels": torch.from_numpy(labels)}
    emb, labels = load_imdb_bert(mirror)
    return {"embeddings": torch.from_numpy(emb), "labels": torch.from_numpy(labels)}


def check_sources(mirror: str | None, domains: list[str], verify: bool = True) -> dict[str, list[dict]]:
    """Find (and with ``verify`` check the hash of) every source file of ``domains``; raise naming the first
    missing or corrupted one. Returns the manifest's ``sources`` entries per domain."""
    return {name: [_source_entry(rel, mirror, verify) for rel in SOURCE_FILES[name]]
            for name in domains if name != "gaussian"}


def prepare_pools(out_dir: Path, mirror: str | None, domains: list[str], verify: bool = True) -> dict:
    """Write ``<domain>_pool.pt`` for each domain; return the manifest's description ``{"pools": {domain: ...}}``.

    Every source file is found (and, with ``verify``, checked against its published sha256) before
    anything is written, so a missing or corrupted file leaves the output folder as it was.
    """
    # gaussian is sampled from scratch and needs no pool: accept it and skip it
    domains = [d for d in domains if d != "gaussian"]
    unknown = sorted(set(domains) - set(SOURCE_FILES))
    if unknown:
        raise ValueError(f"mi_benchmark_data.domains must be among {sorted(SOURCE_FILES)}, got unknown {unknown}")
    sources = check_sources(mirror, domains, verify)
    out_dir = Path(out_dir)
    info: dict = {}
    for name in domains:
        pool = build_pool(name, mirror)
        path = out_dir / f"{name}_pool.pt"
        _save(pool, path)
        info[name] = {"file": path.name, "sources": sources[name], "shape": list(next(iter(pool.values())).shape),
                      "per_class": np.bincount(pool["labels"].numpy(), minlength=2).tolist()}
    return {"pools": info}


def load_pools(out_dir: Path) -> dict:
    """Read every pool listed in ``manifest.json``, checking each file's hash."""
    out_dir = Path(out_dir)
    manifest_path = out_dir / MANIFEST
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path} missing: run the mi_benchmark_data stage first "
                                "(`dvc repro mi_benchmark_data`)")
    manifest = json.loads(manifest_path.read_text())
    pools = {}
    for name, entry in manifest["pools"].items():
        path = out_dir / entry["file"]
        if sha256(path) != manifest["files"][entry["file"]]:
            raise ValueError(f"{path} does not match its manifest hash: re-run the mi_benchmark_data stage")
        pools[name] = torch.load(path, weights_only=True)
    return pools
