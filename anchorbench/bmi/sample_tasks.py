"""Sample the bmi benchmark's tasks (Czyz et al. 2023, "Beyond Normal") into .npz files, with a manifest.

Run by the bmi venv's python (``make setup-bmi`` builds .venv-bmi), never by the main venv: this file imports
only the standard library, numpy and bmi (benchmark-mi 0.1.3 pins numpy<2, pandas<2, pydantic<2)::

    .venv-bmi/bin/python anchorbench/bmi/sample_tasks.py --out DIR --n 10000 --seeds 0 1 2 [--tasks ID ...]

Writes, for every task of ``bmi.benchmark.BENCHMARK_TASKS`` (or the ``--tasks`` given) and every seed:

- ``DIR/<task_id>/seed<k>.npz``: arrays ``x [n, dim_x]`` and ``y [n, dim_y]`` exactly as ``task.sample(n, seed)``
  returns them (no re-implemented sampler, no cast: float32 for most tasks, float64 for the Student-t ones);
- ``DIR/manifest.json``: ``{"bmi": version, "jax": version, "numpy": version, "n": n, "seeds": [...],
  "tasks": [{"id", "name", "family", "dim_x", "dim_y", "mi_nats", "files": {"seed<k>": {"path", "sha256"}}}]}``
  with ``mi_nats`` the task's exact ``mutual_information`` (nats) and ``path`` relative to DIR.

Families (:func:`family`) group the 40 tasks by what makes them hard: the outermost transform of the id
(``normal_cdf``, ``half_cube``, ``wiggly``, ``spiral`` (also spiral after normal_cdf), ``asinh``) or, for an
untransformed task, its base distribution (``1v1`` (normal, additive uniform, bimodal), ``swissroll``,
``multinormal dense``, ``multinormal sparse``, ``student``). Re-running with the same arguments rewrites
byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import json
from pathlib import Path

import numpy as np
from bmi.benchmark import BENCHMARK_TASKS

TRANSFORMS = ("normal_cdf", "half_cube", "wiggly", "spiral", "asinh")
BASES = {"1v1": "1v1", "swissroll": "swissroll", "multinormal-dense": "multinormal dense",
         "multinormal-sparse": "multinormal sparse", "student-identity": "student"}


def family(task_id: str) -> str:
    """The task's family: its outermost transform, else its base distribution (see the module docstring)."""
    for transform in TRANSFORMS:
        if task_id.startswith(transform + "-") or task_id.startswith(transform + "_"):
            return transform
    for prefix, name in BASES.items():
        if task_id.startswith(prefix):
            return name
    raise ValueError(f"task {task_id!r} fits no family; extend TRANSFORMS or BASES")


def npz_bytes(x: np.ndarray, y: np.ndarray) -> bytes:
    """An uncompressed .npz of ``x`` and ``y`` (deterministic bytes: no timestamps in np.savez's zip)."""
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    return buffer.getvalue()


def sample_task(task, out: Path, n: int, seeds: list[int]) -> dict:
    """Write ``out/<id>/seed<k>.npz`` for every seed; the task's manifest entry."""
    folder = out / task.id
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for seed in seeds:
        x, y = (np.asarray(a) for a in task.sample(n, seed))
        assert x.shape == (n, task.dim_x) and y.shape == (n, task.dim_y), (task.id, x.shape, y.shape)
        data = npz_bytes(x, y)
        path = folder / f"seed{seed}.npz"
        path.write_bytes(data)
        files[f"seed{seed}"] = {"path": str(path.relative_to(out)), "sha256": hashlib.sha256(data).hexdigest(),
                                "dtype": str(x.dtype)}
    return {"id": task.id, "name": task.name, "family": family(task.id), "dim_x": task.dim_x,
            "dim_y": task.dim_y, "mi_nats": float(task.mutual_information), "files": files}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--n", type=int, default=10_000, help="samples per task and seed")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--tasks", nargs="+", help="task ids (default: all of BENCHMARK_TASKS)")
    args = p.parse_args(argv)
    ids = args.tasks or list(BENCHMARK_TASKS)
    unknown = sorted(set(ids) - set(BENCHMARK_TASKS))
    if unknown:
        p.error(f"unknown task ids {unknown}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = []
    for task_id in ids:
        tasks.append(sample_task(BENCHMARK_TASKS[task_id], out, args.n, args.seeds))
        print(f"{task_id}: {len(args.seeds)} seed(s), MI {tasks[-1]['mi_nats']:.4f} nats", flush=True)
    versions = {name: importlib.metadata.version(dist)
                for name, dist in (("bmi", "benchmark-mi"), ("jax", "jax"), ("numpy", "numpy"))}
    manifest = {**versions, "n": args.n, "seeds": args.seeds, "tasks": tasks}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
