"""Fit-core speed and accuracy vs latentmi (LMI) and a plain one-model-per-seed loop, on the same arrays.

    python -m bench.bench_fit                     # dims 5, 64, 1024; writes bench/results/fit_cpu.{csv,md}
    python -m bench.bench_fit --dims 5 --seeds 2  # a quick look

Data: n pairs of a 5-d correlated Gaussian (per-dimension correlation rho, true MI -5/2 log2(1 - rho^2) bits)
pushed through a fixed injective map into D dims, x = leaky_relu(W_x z_x, 0.2) with W_x a fixed random
[D, 5] matrix of full column rank (and the same for y): an injective map leaves the MI unchanged, so the
truth is known at every D. Each method estimates the MI from the same arrays with ``--seeds`` seeds:
- ``anchorbench``: ``fit_critic`` (the core of ``anchorbench estimate``), all seeds as one batched module;
- ``plain loop``: one plain ``nn.Sequential`` separable critic per seed, trained one after another with the
  same loss (the registry's infonce_anchor), settings, validation batches and early stopping;
- ``LMI``: ``latentmi.lmi.estimate`` with its defaults (AECross, 8-d latents, 50 % validation, batch 512,
  up to ``--lmi-epochs`` epochs (default its own 300), patience 30), MI = nanmean of its validation pMIs (bits,
  its KSG on the 8-d latents), one call per seed.
Reported: wall seconds for all seeds (the machine's threads; run it alone) and per seed, the mean estimate
(bits), its SD over seeds, and the absolute error of the mean against the truth.

``--vs-ksg`` (a second mode): the default ``anchorbench estimate X.npy Y.npy`` (no flags, 5 seeds) beside bmi's KSG
ensemble (k = 5, 10, as anchorbench/bmi/reference.py runs it) on the same arrays, both timed as whole processes
(imports included), alternating, ``--repeats`` times; prints the medians and the ratio, writes
bench/results/fit_vs_ksg.{csv,md}. The arrays are one task/seed of a folder written by anchorbench/bmi/sample_tasks.py
(``--bmi-data``, default $ANCHORBENCH_BMI_DATA) and KSG runs in bmi's venv (``--bmi-python``, default
.venv-bmi/bin/python)::

    python -m bench.bench_fit --vs-ksg --bmi-data "$ANCHORBENCH_BMI_DATA" --task multinormal-dense-5-5-0.5 --repeats 3

``--bmi`` (a third mode): ``fit_critic(x, y)`` with its defaults on every task and data seed of that folder; per row
the estimate (nats), whether it is within 10 % of the truth or 0.05 nat, and the wall seconds; beside them the
folder's ``reference.csv`` (KSG, CCA of anchorbench/bmi/reference.py) if present. Writes bench/results/fit_bmi.{csv,md}
(per task and seed, counts per seed and per family)::

    python -m bench.bench_fit --bmi --bmi-data "$ANCHORBENCH_BMI_DATA" [--tasks ID ...] [--data-seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

import estimators
from anchorbench.fit import FIT_DEFAULTS, TrainSettings, fit_critic
from anchorbench.fit.data import Standardizer, split_rows
from anchorbench.io import atomic_path, write_frame

LATENT = 5
RESULTS = "bench/results"
REFERENCE = Path(__file__).parents[1] / "anchorbench/bmi/reference.py"


def write_result(stem: str, frame: pd.DataFrame, markdown: str) -> None:
    """``<stem>.csv`` (the rows) and ``<stem>.md`` (the report), each written atomically."""
    write_frame(f"{stem}.csv", frame)
    with atomic_path(f"{stem}.md") as tmp:
        tmp.write_text(markdown)


def environment() -> str:
    import os
    import platform

    return (f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs "
            f"({platform.processor() or platform.machine()})")


def make_data(n: int, dim: int, true_bits: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``x[n, dim]``, ``y[n, dim]`` with MI ``true_bits``: a 5-d Gaussian pair through fixed injective maps."""
    rho = math.sqrt(1 - 2 ** (-2 * true_bits / LATENT))
    rng = np.random.default_rng(seed)
    zx = rng.standard_normal((n, LATENT))
    zy = rho * zx + math.sqrt(1 - rho**2) * rng.standard_normal((n, LATENT))
    wx, wy = rng.standard_normal((dim, LATENT)), rng.standard_normal((dim, LATENT))
    leaky = lambda h: np.where(h > 0, h, 0.2 * h)  # noqa: E731  elementwise bijection
    return leaky(zx @ wx.T).astype(np.float32), leaky(zy @ wy.T).astype(np.float32)


def run_anchorbench(x, y, seeds: int, settings: TrainSettings, critic: dict) -> list[float]:
    # the plain loop's protocol: 80/20 train/validation, readout on the validation rows, the registry's nu = 1
    fit = fit_critic(x, y, estimator="infonce_anchor", hparams={"nu": 1.0, "K": settings.batch_size - 1},
                     critic=critic, seeds=seeds, val_fraction=0.2, test_fraction=0.0, settings=settings)
    return fit.per_seed_bits


def _mlp(d_in: int, width: int, depth: int, embed: int) -> nn.Sequential:
    layers, d = [], d_in
    for _ in range(depth + 1):  # as SeparableCritic: depth + 1 hidden layers
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, embed))


def run_plain_loop(x, y, seeds: int, settings: TrainSettings, critic: dict) -> list[float]:
    """One model per seed, trained in turn: what a user would write without the batched core."""
    est = estimators.build("infonce_anchor")
    train, val, _ = split_rows(len(x), 0.2, 0)
    sx = Standardizer.fit("x", x[train].astype(np.float64), settings.clip)
    sy = Standardizer.fit("y", y[train].astype(np.float64), settings.clip)
    xt, yt, xv, yv = sx(x[train]), sy(y[train]), sx(x[val]), sy(y[val])
    B = settings.batch_size
    order = torch.randperm(len(val), generator=torch.Generator().manual_seed(12345))
    val_batches = order[torch.arange(math.ceil(len(val) / B) * B) % len(val)].reshape(-1, B)
    out = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        f = _mlp(x.shape[1], critic["width"], critic["depth"], critic["embed"])
        g = _mlp(y.shape[1], critic["width"], critic["depth"], critic["embed"])
        params = [*f.parameters(), *g.parameters()]
        opt = torch.optim.Adam(params, lr=settings.lr)
        gen = torch.Generator().manual_seed(seed)
        best, best_step, best_mi, step = math.inf, 0, math.nan, 0
        perm, pos = torch.randperm(len(xt), generator=gen), 0
        while step < settings.max_steps:
            if pos + B > len(perm):
                perm, pos = torch.randperm(len(xt), generator=gen), 0
            rows, pos, step = perm[pos:pos + B], pos + B, step + 1
            loss = est.loss((f(xt[rows]) @ g(yt[rows]).T)[None], validate=False).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % settings.check_every == 0 or step == settings.max_steps:
                with torch.no_grad():
                    scores = torch.stack([f(xv[b]) @ g(yv[b]).T for b in val_batches])  # [k, B, B]
                    vl, vm = est.loss(scores, validate=False).mean().item(), est.estimate(scores).mean().item()
                if vl < best:
                    best, best_step, best_mi = vl, step, vm
                elif step - best_step >= settings.patience:
                    break
        out.append(best_mi / math.log(2))
    return out


def run_lmi(x, y, seeds: int, epochs: int) -> list[float]:
    from latentmi import lmi

    if not hasattr(np, "NaN"):  # latentmi 0.1.3 uses np.NaN, removed in numpy 2 (it is an alias of np.nan)
        np.NaN = np.nan
    out = []
    for seed in range(seeds):
        np.random.seed(seed)  # its split
        torch.manual_seed(seed)  # its init and batches
        with contextlib.redirect_stdout(io.StringIO()):  # it prints an epoch counter regardless of quiet
            pmi, _, _ = lmi.estimate(x, y, quiet=True, device="cpu", epochs=epochs)
        out.append(float(np.nanmean(pmi)))  # bits (its KSG uses base 2)
    return out


def timed(command: list[str]) -> tuple[float, str]:
    """(wall seconds, stdout) of ``command`` run as a whole process; CalledProcessError if it fails."""
    start = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def within(estimate, truth):
    """The benchmark's criterion: within 10 % of the truth or 0.05 nat, whichever is looser (nats)."""
    return (estimate - truth).abs() <= np.maximum(0.1 * truth, 0.05)


def bmi_counts(frame: pd.DataFrame) -> str:
    """Markdown: per method, the tasks within the criterion per data seed, and per family (summed over seeds)."""
    ok = frame.assign(ok=within(frame.mi_nats, frame.truth_nats))
    seeds = ok.pivot_table(index="method", columns="seed", values="ok", aggfunc="sum")
    families = ok.pivot_table(index="family", columns="method", values="ok", aggfunc="sum")
    tasks = ok.groupby("family").task_id.nunique().rename("tasks")
    return (f"Tasks within 10 % (or 0.05 nat) per data seed:\n\n{seeds.to_markdown()}\n\nPer family, summed over "
            f"the data seeds:\n\n{families.join(tasks).to_markdown()}\n")


def bmi(args) -> int:
    """The fit defaults on every task/seed of a sample_tasks.py folder, beside its reference rows; write the tables."""
    data = Path(args.bmi_data or os.environ.get("ANCHORBENCH_BMI_DATA", ""))
    tasks = [t for t in json.loads((data / "manifest.json").read_text())["tasks"]
             if not args.tasks or t["id"] in args.tasks]
    rows = []
    for task in tasks:
        for seed in args.data_seeds:
            arrays = np.load(data / task["files"][f"seed{seed}"]["path"])
            start = time.perf_counter()
            fit = fit_critic(arrays["x"], arrays["y"], settings=dataclasses.replace(FIT_DEFAULTS, progress=False))
            rows.append({"task_id": task["id"], "family": task["family"], "seed": seed, "method": "anchorbench",
                         "mi_nats": round(fit.mi_nats, 4), "truth_nats": round(task["mi_nats"], 6),
                         "seconds": round(time.perf_counter() - start, 1)})
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    if (data / "reference.csv").is_file():
        ref = pd.read_csv(data / "reference.csv").rename(columns={"estimator": "method"})
        ref = ref[ref.task_id.isin(frame.task_id) & ref.seed.isin(args.data_seeds)]
        frame = pd.concat([frame, ref.reindex(columns=frame.columns)], ignore_index=True)  # no seconds there
    wide = frame.pivot_table(index=["task_id", "family", "truth_nats"], columns=["method", "seed"], values="mi_nats",
                             sort=False)
    write_result(f"{RESULTS}/fit_bmi", frame,
                 f"# The fit defaults on the bmi benchmark ({len(tasks)} tasks, data seeds {args.data_seeds}, "
                 f"n = {len(arrays['x'])})\n\n{environment()}; fit_critic(x, y) with FIT_DEFAULTS; KSG and "
                 f"CCA: bmi's (anchorbench/bmi/reference.py) on the same arrays\n\n{bmi_counts(frame)}\n"
                 f"Estimates (nats):\n\n{wide.round(3).to_markdown()}\n")
    print(bmi_counts(frame), flush=True)
    return 0


def vs_ksg(args) -> int:
    """Time the default ``anchorbench estimate`` and bmi's KSG on the same arrays, alternating; write the table."""
    data = Path(args.bmi_data or os.environ.get("ANCHORBENCH_BMI_DATA", ""))
    task = next(t for t in json.loads((data / "manifest.json").read_text())["tasks"] if t["id"] == args.task)
    arrays = np.load(data / task["files"][f"seed{args.seed}"]["path"])
    folder = Path(tempfile.mkdtemp())
    for name in ("x", "y"):
        np.save(folder / f"{name}.npy", arrays[name])
    commands = {"anchorbench estimate (defaults)": [sys.executable, "-m", "flows.cli", "estimate",
                                                   str(folder / "x.npy"), str(folder / "y.npy"), "--quiet"],
                "bmi KSG (k = 5, 10)": [args.bmi_python, str(REFERENCE), "--data", str(data), "--out",
                                       str(folder / "ksg.csv"), "--tasks", args.task, "--seeds", str(args.seed),
                                       "--estimators", "ksg"]}
    rows = []
    for repeat in range(args.repeats):
        for method, command in commands.items():
            seconds, out = timed(command)
            if method.startswith("anchorbench"):
                nats = float(re.search(r"bits \(([-\d.]+) nats", out).group(1))
            else:
                nats = float(pd.read_csv(folder / "ksg.csv").mi_nats.iloc[0])
            rows.append({"method": method, "repeat": repeat, "wall_seconds": round(seconds, 2),
                         "mi_nats": round(nats, 4), "truth_nats": round(task["mi_nats"], 4)})
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    medians = frame.groupby("method", sort=False)[["wall_seconds", "mi_nats"]].median()
    ratio = medians.wall_seconds.iloc[0] / medians.wall_seconds.iloc[1]
    print(medians.to_string(), f"\nratio anchorbench / KSG (median wall seconds): {ratio:.2f}", flush=True)
    write_result(f"{RESULTS}/fit_vs_ksg", frame,
                 f"# Default `anchorbench estimate` vs bmi's KSG, same arrays ({args.task}, seed {args.seed}, "
                 f"{len(arrays['x'])} x ({task['dim_x']} + {task['dim_y']}), truth {task['mi_nats']:.4f} nats)"
                 f"\n\n{environment()}; load average before: {args.load}\n\nWhole processes (imports "
                 f"included), alternating, {args.repeats} repeats; medians:\n\n"
                 f"{medians.reset_index().to_markdown(index=False)}\n\nratio anchorbench / KSG: {ratio:.2f}"
                 f"\n\nAll runs:\n\n{frame.to_markdown(index=False)}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--vs-ksg", action="store_true", help="time the default estimate beside bmi's KSG (see above)")
    p.add_argument("--bmi-data", help="folder of sample_tasks.py (default $ANCHORBENCH_BMI_DATA)")
    p.add_argument("--bmi-python", default=".venv-bmi/bin/python", help="python of bmi's venv (make setup-bmi)")
    p.add_argument("--task", default="multinormal-dense-5-5-0.5", help="bmi task id (10,000 x (5 + 5) by default)")
    p.add_argument("--seed", type=int, default=0, help="data seed of the task")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--bmi", action="store_true", help="the fit defaults on every task of --bmi-data (see above)")
    p.add_argument("--tasks", nargs="+", help="--bmi: task ids (default: all of the folder)")
    p.add_argument("--data-seeds", type=int, nargs="+", default=[0, 1, 2], help="--bmi: data seeds")
    p.add_argument("--dims", type=int, nargs="+", default=[5, 64, 1024])
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--true-bits", type=float, default=2.0)
    p.add_argument("--methods", nargs="+", default=["anchorbench", "plain loop", "LMI"])
    p.add_argument("--max-steps", type=int, default=4000)
    p.add_argument("--lmi-epochs", type=int, default=300,
                   help="LMI's epoch cap (its default 300, patience 30); about 5 s per epoch at dim 5 here")
    p.add_argument("--out", default=f"{RESULTS}/fit_cpu")
    args = p.parse_args(argv)
    if args.vs_ksg:
        args.load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
        return vs_ksg(args)
    if args.bmi:
        return bmi(args)
    settings = TrainSettings(batch_size=128, lr=5e-4, max_steps=args.max_steps, patience=1000, check_every=250,
                             progress=False)
    critic = {"type": "separable", "width": 256, "depth": 1, "embed": 32}
    rows = []
    for dim in args.dims:
        x, y = make_data(args.n, dim, args.true_bits)
        for method in args.methods:
            start = time.perf_counter()
            if method == "anchorbench":
                bits = run_anchorbench(x, y, args.seeds, settings, critic)
            elif method == "plain loop":
                bits = run_plain_loop(x, y, args.seeds, settings, critic)
            else:
                bits = run_lmi(x, y, args.seeds, args.lmi_epochs)
            seconds = time.perf_counter() - start
            mean = float(np.mean(bits))
            rows.append({"dim": dim, "method": method, "seeds": args.seeds, "seconds": round(seconds, 1),
                         "seconds_per_seed": round(seconds / args.seeds, 1), "mi_bits": round(mean, 3),
                         "sd_bits": round(float(np.std(bits, ddof=1)) if len(bits) > 1 else 0.0, 3),
                         "true_bits": args.true_bits, "abs_error_bits": round(abs(mean - args.true_bits), 3)})
            print(rows[-1], flush=True)
            frame = pd.DataFrame(rows)  # rewritten after every row: a long LMI run leaves the finished rows
            write_result(args.out, frame,
                         f"# Fit core vs LMI vs a plain loop ({args.n} pairs, true MI {args.true_bits} bits)"
                         f"\n\n{environment()}\n\nanchorbench/plain loop: infonce_anchor, separable critic "
                         f"{critic}, {settings}\n\nLMI: latentmi.lmi.estimate defaults except "
                         f"epochs={args.lmi_epochs}\n\n{frame.to_markdown(index=False)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
