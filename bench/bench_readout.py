"""How far the fit core's MI readout can move with the rows it reads, when the critic is exact.

    python -m bench.bench_readout --bmi-data "$ANCHORBENCH_BMI_DATA"   # writes bench/results/readout_noise.{csv,md}

For bmi's ``student-identity-*`` tasks (a multivariate Student-t with identity dispersion, split into x and y) the
PMI is closed form, log t_{dx+dy}(x, y) - log t_dx(x) - log t_dy(y). Its readouts on the rows the fit core reads
on with its defaults (2,000 test rows of 10,000) are the best any critic can read there: the spread of those
numbers over data seeds and over five disjoint 2,000-row folds is the readout's own noise, which no training
setting removes. Reported per task and data seed: the truth, the exact critic's plug-in readout (the mean PMI of the
joint test pairs: the fit core's default) and its DV readout on the test rows, each with its relative error and its
SD over the folds.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import gammaln

from anchorbench.fit.data import split_rows
from anchorbench.fit.defaults import FIT_SETTINGS, val_fraction_for
from anchorbench.fit.result import dv_readout
from bench.bench_fit import RESULTS, write_result

DOF = {"student-identity-1-1-1": 1, "student-identity-2-2-1": 1, "student-identity-2-2-2": 2,
       "student-identity-3-3-2": 2, "student-identity-3-3-3": 3, "student-identity-5-5-2": 2,
       "student-identity-5-5-3": 3}  # bmi.benchmark's degrees of freedom per task


def log_t(z: np.ndarray, dof: float) -> np.ndarray:
    """Log density of the standard multivariate Student-t (identity dispersion) at ``z[..., d]``."""
    d = z.shape[-1]
    return (gammaln((dof + d) / 2) - gammaln(dof / 2) - d / 2 * np.log(dof * np.pi)
            - (dof + d) / 2 * np.log1p((z**2).sum(-1) / dof))


def exact_pmi_grid(x: np.ndarray, y: np.ndarray, dof: float) -> np.ndarray:
    """The exact PMI (nats) of every pair ``x[m, dx]`` with ``y[m, dy]``: ``[m, m]``, joint pairs on the diagonal."""
    m = len(x)
    pairs = np.concatenate([np.repeat(x[:, None], m, 1), np.repeat(y[None], m, 0)], -1)  # [m, m, dx + dy]
    return log_t(pairs, dof) - log_t(x, dof)[:, None] - log_t(y, dof)[None]


def readouts(x: np.ndarray, y: np.ndarray, dof: float) -> tuple[float, float]:
    """(plug-in, DV) readouts in nats of the exact PMI over the rows ``x[m, dx]``, ``y[m, dy]``."""
    grid = exact_pmi_grid(x, y, dof)
    return float(np.mean(np.diag(grid))), dv_readout(grid)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bmi-data", default=os.environ.get("ANCHORBENCH_BMI_DATA"),
                   help="a folder written by anchorbench/bmi/sample_tasks.py (default $ANCHORBENCH_BMI_DATA)")
    args = p.parse_args(argv)
    if not args.bmi_data or not (Path(args.bmi_data) / "manifest.json").is_file():
        raise SystemExit("--bmi-data: no manifest.json there; point it at data/bmi/n10000 (dvc repro bmi_data) or "
                         "a folder written by anchorbench/bmi/sample_tasks.py")
    folder = Path(args.bmi_data)
    tasks = {t["id"]: t for t in json.loads((folder / "manifest.json").read_text())["tasks"]}
    rows = []
    for task, dof in DOF.items():
        info = tasks[task]
        for seed, entry in sorted(info["files"].items()):
            with np.load(folder / entry["path"]) as z:
                x, y = z["x"].astype(np.float64), z["y"].astype(np.float64)
            test = split_rows(len(x), val_fraction_for(len(x), FIT_SETTINGS["batch_size"]), 0, 0.2)[2]  # the fit's
            folds = np.array_split(np.random.default_rng(0).permutation(len(x)), 5)
            fold = np.array([readouts(x[f], y[f], dof) for f in folds])  # [5, (plug-in, DV)]
            plugin, dv = readouts(x[test], y[test], dof)
            rows.append({"task": task, "data_seed": seed, "truth_nats": info["mi_nats"],
                         "plugin_nats": plugin, "plugin_rel_error": plugin / info["mi_nats"] - 1,
                         "plugin_fold_sd_nats": fold[:, 0].std(ddof=1), "dv_nats": dv,
                         "dv_rel_error": dv / info["mi_nats"] - 1, "dv_fold_sd_nats": fold[:, 1].std(ddof=1)})
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    lines = ["Exact-critic readouts on the fit core's 2,000 test rows (bmi student-identity tasks, N = 10,000): "
             "plug-in (the default) and DV; fold SD: over five disjoint 2,000-row folds.", "",
             frame.round(4).to_markdown(index=False), ""]
    write_result(f"{RESULTS}/readout_noise", frame, "\n".join(lines))  # both files atomically, as bench_fit does


if __name__ == "__main__":
    main()
