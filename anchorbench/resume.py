"""Resume after an interruption: every experiment's unit of work (an MI training group, a protein trial, an SSL
unit) is kept, once finished, as a content-keyed folder under ``<outputs>/.cache/units/<experiment>/``.

A rerun after a kill (or any rerun with the same spec, data and code) reuses each unit whose key matches and
computes only the rest. The key hashes everything that determines the unit's result: its spec, the data's
manifest version and the code version. A unit's folder is built under a temporary name and renamed into place
whole, so a kill never leaves a half-finished unit that looks finished; the temporary folder names its owner
(host and pid), and ``remove_stale`` deletes a killed worker's leftovers on the next start (never a live
worker's). The cache lives outside ``results/`` because ``dvc repro`` deletes a stage's declared outputs before
it runs the stage; ``publish`` then copies a unit's files to their place in the outputs, each atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from anchorbench.io import atomic_path

RESULT = "result.json"  # the unit's JSON result; the folder is finished when it holds this file
OWNER = ".owner.json"  # in a unit's temporary folder: the host and pid building it
UNOWNED_SECONDS = 3600  # a temporary folder without an owner file (a kill between mkdtemp and the write) this old


def _plain(value):
    """JSON form of what a unit's key or result holds beyond JSON types: config sections (pydantic), frozen
    dataclasses, numpy scalars."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def content_key(*parts) -> str:
    """16 hex digits of SHA-256 over the canonical JSON of ``parts`` (sorted keys): same parts, same key, in
    every process and on every machine. (Not pickle: a pydantic model pickles a set, whose order follows the
    process's string-hash seed.)"""
    blob = json.dumps(parts, sort_keys=True, default=_plain, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def finished(root: str | Path, name: str, key: str, compute: Callable[[Path], dict]) -> tuple[Path, dict]:
    """The unit ``name`` with content key ``key``: its folder ``<root>/<name>-<key>`` and its result.

    When the folder is missing, ``compute(tmp)`` writes the unit's files into a fresh temporary folder and
    returns its result (a JSON-able dict); the folder, result included, is then renamed into place. If another
    worker finished the same unit first, its folder is kept and this one dropped (same key, same content).
    """
    root = Path(root)
    folder = root / f"{name}-{key}"
    if not (folder / RESULT).exists():
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}-", suffix=".tmp"))
        try:
            (tmp / OWNER).write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
            result = compute(tmp)
            (tmp / RESULT).write_text(json.dumps(result, indent=2, sort_keys=True, default=_plain) + "\n")
            (tmp / OWNER).unlink()
            try:
                os.rename(tmp, folder)
            except OSError:
                if not (folder / RESULT).exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder, json.loads((folder / RESULT).read_text())


def alive(pid: int) -> bool:
    """Whether process ``pid`` on this host exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def remove_stale(root: str | Path) -> list[Path]:
    """Delete the temporary unit folders under ``root`` whose builder is gone: its pid on this host is dead (or,
    with no owner file, it is older than ``UNOWNED_SECONDS``). Folders of live workers and of other hosts stay.
    Returns the deleted folders."""
    root, host, removed = Path(root), socket.gethostname(), []
    for tmp in sorted(root.glob(".*.tmp")) if root.is_dir() else []:
        try:
            owner = json.loads((tmp / OWNER).read_text())
            stale = owner["host"] == host and not alive(int(owner["pid"]))
        except (OSError, ValueError, KeyError):
            stale = time.time() - tmp.stat().st_mtime > UNOWNED_SECONDS
        if stale:
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def publish(folder: str | Path, out_dir: str | Path) -> list[Path]:
    """Copy every file of a finished unit's folder (but its result) to the same relative path under
    ``out_dir``, each atomically; the copied paths."""
    folder, out_dir = Path(folder), Path(out_dir)
    placed = []
    for src in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != RESULT):
        dest = out_dir / src.relative_to(folder)
        with atomic_path(dest) as tmp:
            shutil.copyfile(src, tmp)
        placed.append(dest)
    return placed
