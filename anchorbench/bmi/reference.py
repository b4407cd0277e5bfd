"""bmi's own estimators on the sampled tasks: the KSG ensemble and CCA, timed, as the reference rows.

Run by the bmi venv's python (imports only the standard library, numpy and bmi), on a folder written by
``sample_tasks.py``::

    .venv-bmi/bin/python anchorbench/bmi/reference.py --data DIR --out DIR/reference.csv [--tasks ID ...]
        [--seeds 0 1 2] [--estimators ksg cca] [--jobs 2]

Estimators, as bmi's benchmark configures them: ``ksg`` = ``KSGEnsembleFirstEstimator(neighborhoods=(5, 10))``
(standardised inputs, euclidean metric; the estimate is the mean over the two neighbourhood sizes) and ``cca`` =
``CCAMutualInformationEstimator()`` (exact for Gaussians only). Output CSV, one row per (task, seed,
estimator), rewritten after every row so an interrupted run keeps what it finished::

    task_id,family,dim_x,dim_y,seed,estimator,mi_nats,truth_nats

``mi_nats``/``truth_nats`` in nats. The wall times go to a second CSV (``--timings``: task_id, seed, estimator,
seconds), so that the first is a deterministic file (a DVC output): ``seconds`` is the estimator's ``estimate``
call alone (loading the .npz excluded), with the threads the environment allows (set OMP_NUM_THREADS etc.).
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from bmi.estimators import CCAMutualInformationEstimator, KSGEnsembleFirstEstimator

ESTIMATORS = {"ksg": lambda: KSGEnsembleFirstEstimator(neighborhoods=(5, 10)),
              "cca": CCAMutualInformationEstimator}
COLUMNS = ["task_id", "family", "dim_x", "dim_y", "seed", "estimator", "mi_nats", "truth_nats"]
TIMING_COLUMNS = ["task_id", "seed", "estimator", "seconds"]


def estimate(name: str, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(MI estimate in nats, wall seconds) of estimator ``name`` on ``x[n, dx]``, ``y[n, dy]``."""
    start = time.perf_counter()
    value = float(ESTIMATORS[name]().estimate(x, y))
    return value, time.perf_counter() - start


def estimate_file(name: str, path: Path) -> tuple[float, float]:
    """:func:`estimate` on the arrays of one .npz file (a worker process's job)."""
    with np.load(path) as arrays:
        return estimate(name, arrays["x"], arrays["y"])


def write(rows: list[dict], out: Path, columns: list[str] = COLUMNS) -> None:
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="folder written by sample_tasks.py (with manifest.json)")
    p.add_argument("--out", required=True, help="CSV to write")
    p.add_argument("--timings", help="CSV of the wall seconds per estimate (default: not written)")
    p.add_argument("--tasks", nargs="+", help="task ids (default: every task of the manifest)")
    p.add_argument("--seeds", type=int, nargs="+", help="data seeds (default: every seed of the manifest)")
    p.add_argument("--estimators", nargs="+", choices=sorted(ESTIMATORS), default=["ksg", "cca"])
    p.add_argument("--jobs", type=int, default=1, help="estimates computed at once, one process each (KSG uses "
                                                       "one core: --jobs 2 on 2 cores halves the wall time)")
    args = p.parse_args(argv)
    data = Path(args.data)
    manifest = json.loads((data / "manifest.json").read_text())
    tasks = [t for t in manifest["tasks"] if args.tasks is None or t["id"] in args.tasks]
    seeds = args.seeds if args.seeds is not None else manifest["seeds"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    jobs = [(task, seed, name) for task in tasks for seed in seeds for name in args.estimators]
    rows, timings = [], []
    # spawned workers: forking a process that has imported jax (multithreaded) can deadlock
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(estimate_file, name, data / task["files"][f"seed{seed}"]["path"])
                   for task, seed, name in jobs]
        for (task, seed, name), future in zip(jobs, futures):  # rows in a fixed order, whatever finished first
            value, seconds = future.result()
            rows.append({"task_id": task["id"], "family": task["family"], "dim_x": task["dim_x"],
                         "dim_y": task["dim_y"], "seed": seed, "estimator": name, "mi_nats": round(value, 6),
                         "truth_nats": round(task["mi_nats"], 6)})
            timings.append({"task_id": task["id"], "seed": seed, "estimator": name, "seconds": round(seconds, 3)})
            write(rows, out)
            if args.timings:
                write(timings, Path(args.timings), TIMING_COLUMNS)
            print(f"{task['id']} seed {seed} {name}: {value:.4f} nats (truth {task['mi_nats']:.4f}), "
                  f"{seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
