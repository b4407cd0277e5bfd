"""The bmi benchmark (Czyz et al. 2023, "Beyond Normal"; the ``benchmark-mi`` package) as an experiment adapter.

data: the bmi package samples every task of ``bmi.benchmark.BENCHMARK_TASKS`` at each size and data seed in its own
environment (``sample_tasks.py``), and runs its KSG ensemble and CCA on the same arrays (``reference.py``); train:
the estimators, each through the fit core with its defaults (what ``anchorbench estimate`` does with no flags),
batched across the tasks, data seeds, estimators and fit seeds of one input shape; then the table of estimates
against the exact MI, the counts within 10 % (or 0.05 nat) per data seed and family, and a figure per family.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from anchorbench import names, paths, stats
from anchorbench.bmi import plots
from anchorbench.bmi.config import DEFAULT_ESTIMATOR
from anchorbench.engine import LOG2E
from anchorbench.experiment import ChildRun, Experiment, Summary, markdown_table
from anchorbench.io import write_frame, write_json

SCRIPTS = Path(__file__).parent
RUN_TAGS = ("task", "family", "n", "estimator", "data_seed")
REL_TOL, ABS_TOL = 0.10, 0.05  # an estimate is right when within 10 % of the truth or 0.05 nat of it
TARGET = 36  # of the 40 tasks, per data seed: the bar `anchorbench estimate` must meet with no flags


def within(estimate: float, truth: float) -> bool:
    """Whether an estimate (nats) is within 10 % of the truth or 0.05 nat of it (a NaN estimate is not)."""
    return bool(np.isfinite(estimate) and abs(estimate - truth) <= max(REL_TOL * truth, ABS_TOL))


@dataclass(frozen=True)
class BmiGroup:
    """The tasks of one input shape at one size: every (task, data seed) x estimator x fit seed trains together."""

    dim_x: int
    dim_y: int
    n: int
    tasks: tuple[str, ...]
    data_seeds: tuple[int, ...]
    estimators: tuple[str, ...]
    seeds: int

    @property
    def name(self) -> str:
        return f"n{self.n}-{self.dim_x}x{self.dim_y}-{len(self.tasks)}tasks"


def reference_timings(n: int) -> Path:
    """Where the data stage keeps the references' wall seconds at size n: beside the unit cache, outside every DVC
    output (a wall time in data/bmi would make the stage's output differ between two identical runs)."""
    return paths.outputs() / ".cache" / "timings" / "bmi" / f"n{n}_reference.csv"


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


class Bmi(Experiment):
    key = "bmi"
    title = "bmi benchmark (40 tasks, exact MI)"
    stages = ("data", "train")
    publish_units = False

    def check(self, params, stage: str) -> None:
        if stage == "data":
            params.bmi_data.interpreter()

    def prepare(self, params, out: Path) -> dict:
        """Sample every task at every size (``n<N>/<task>/seed<k>.npz`` and ``n<N>/manifest.json``) and run the
        references on the first ``reference_seeds`` data seeds (``n<N>/reference.csv``)."""
        d = params.bmi_data
        python, info = str(d.interpreter()), {"sizes": {}}
        for n in d.sizes:
            folder = out / f"n{n}"
            start = time.perf_counter()
            _run([python, str(SCRIPTS / "sample_tasks.py"), "--out", str(folder), "--n", str(n), "--seeds",
                  *map(str, range(d.seeds)), *(["--tasks", *d.tasks] if d.tasks else [])], "bmi's sampler")
            sampled = time.perf_counter() - start
            if d.references and d.reference_seeds:
                timings = reference_timings(n)
                timings.parent.mkdir(parents=True, exist_ok=True)
                _run([python, str(SCRIPTS / "reference.py"), "--data", str(folder), "--out",
                      str(folder / "reference.csv"), "--timings", str(timings),
                      "--seeds", *map(str, range(min(d.reference_seeds, d.seeds))),
                      "--estimators", *d.references, "--jobs", str(d.reference_jobs)], "bmi's KSG/CCA references")
                seconds = pd.read_csv(timings).groupby("estimator").seconds.sum()
                print(f"bmi references n={n}: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()))
            manifest = json.loads((folder / "manifest.json").read_text())
            info["sizes"][str(n)] = {"tasks": len(manifest["tasks"]), "seeds": manifest["seeds"],
                                "versions": {k: manifest[k] for k in ("bmi", "jax", "numpy")}}
            print(f"bmi data n={n}: {len(manifest['tasks'])} tasks x {d.seeds} seeds sampled in {sampled:.0f} s")
        return info

    @staticmethod
    def tasks(data_dir: Path, n: int) -> list[dict]:
        """The sampler's task entries at size ``n`` (id, family, dims, exact MI, files)."""
        return json.loads((data_dir / f"n{n}" / "manifest.json").read_text())["tasks"]

    def plan(self, params, tuned: dict) -> list[BmiGroup]:
        d, p = params.bmi_data, params.bmi
        groups = []
        for n in d.sizes:
            shapes: dict[tuple[int, int], list[str]] = {}
            for task in self.tasks(self.data_dir(), n):
                shapes.setdefault((task["dim_x"], task["dim_y"]), []).append(task["id"])
            groups += [BmiGroup(dx, dy, n, tuple(ids), tuple(range(d.seeds)), tuple(p.estimators), p.seeds)
                       for (dx, dy), ids in sorted(shapes.items())]
        return groups

    def unit_key(self, params) -> None:
        return None  # a BmiGroup names its data, estimators and seeds; the fit core's defaults are code

    def run_unit(self, params, unit: BmiGroup, data_dir: Path, folder: Path) -> dict:
        """Fit every (task, data seed) of the group with every estimator, the fit core's defaults, in one call."""
        from anchorbench.fit.api import FIT_DEFAULTS, fit_datasets
        from anchorbench.fit.command import disagreement

        tasks = {t["id"]: t for t in self.tasks(data_dir, unit.n)}
        keys = [(task, seed) for task in unit.tasks for seed in unit.data_seeds]
        pairs = []
        for task, seed in keys:
            with np.load(data_dir / f"n{unit.n}" / tasks[task]["files"][f"seed{seed}"]["path"]) as z:
                pairs.append((z["x"], z["y"]))
        start = time.perf_counter()
        fits = fit_datasets(pairs, list(unit.estimators), seeds=unit.seeds, settings=replace(
            FIT_DEFAULTS, device=params.bmi.device, progress=False))
        seconds = time.perf_counter() - start
        rows = []
        for (task, seed), by_label in zip(keys, fits):
            for label, fit in by_label.items():
                per_seed = [b * math.log(2) for b in fit.per_seed_bits]
                rows.append({"task": task, "data_seed": seed, "estimator": label, "mi_nats": fit.mi_nats,
                             "seed_sd_nats": fit.mi_bits_sd * math.log(2), "per_seed_nats": per_seed,
                             "diverged_seeds": fit.n_diverged, "seeds_disagree": disagreement(fit) is not None})
        return {"rows": rows, "seconds": seconds, "fits": len(keys) * len(unit.estimators)}

    def _estimates(self, params, results: list[dict], data_dir: Path) -> pd.DataFrame:
        """Every estimate (ours and the references) with its truth and whether it is within tolerance."""
        frames = []
        for n in params.bmi_data.sizes:
            info = pd.DataFrame(self.tasks(data_dir, n)).rename(columns={"id": "task", "mi_nats": "truth_nats"})
            info = info[["task", "family", "dim_x", "dim_y", "truth_nats"]].assign(n=n)
            ours = pd.DataFrame([r for res in results for r in res["rows"]
                                 if any(r["task"] == t for t in info.task)])
            ours = ours[[c for c in ("task", "data_seed", "estimator", "mi_nats", "seeds_disagree") if c in ours]]
            frames.append(info.merge(ours, on="task"))
            ref = data_dir / f"n{n}" / "reference.csv"
            if ref.exists():
                r = pd.read_csv(ref).rename(columns={"task_id": "task", "seed": "data_seed"})
                frames.append(info.merge(r[["task", "data_seed", "estimator", "mi_nats"]].assign(
                    estimator=lambda f: "bmi:" + f.estimator), on="task"))
        out = pd.concat(frames, ignore_index=True)
        out["error_nats"] = out.mi_nats - out.truth_nats
        out["within"] = [within(e, t) for e, t in zip(out.mi_nats, out.truth_nats)]
        return out.sort_values(["n", "family", "task", "estimator", "data_seed"], kind="stable").reset_index(drop=True)

    def summarise(self, params, results: list[dict], data_dir: Path, out: Path) -> Summary:
        """estimates.csv, summary.csv (per task: truth, each estimator's mean over data seeds), metrics.json
        (counts within 10 % per data seed and per family) and estimates_vs_truth.png."""
        est = self._estimates(params, results, data_dir)
        summary = est.groupby(["n", "family", "task", "truth_nats", "estimator"], sort=False).agg(
            mean_nats=("mi_nats", "mean"), min_nats=("mi_nats", "min"), max_nats=("mi_nats", "max"),
            within=("within", "sum"), data_seeds=("within", "size")).reset_index()
        metrics = counts(est)
        files = {"estimates": write_frame(out / "estimates.csv", est),
                 "summary": write_frame(out / "summary.csv", summary),
                 "metrics": write_json(out / "metrics.json", metrics),
                 "figure": plots.estimates_vs_truth(summary, out / "estimates_vs_truth.png")}
        default = metrics["within"].get(DEFAULT_ESTIMATOR, {})
        headline = {f"{names.WITHIN_10PCT}_n{n}": min(seeds.values()) / metrics["tasks"][n]
                    for n, seeds in default.items()}
        headline["fit_seconds"] = float(sum(r["seconds"] for r in results))
        for n in params.bmi_data.sizes:  # the references' wall time (MLflow only: never in a DVC output)
            if reference_timings(n).is_file():
                for name, secs in pd.read_csv(reference_timings(n)).groupby("estimator").seconds.sum().items():
                    headline[f"{name}_seconds_n{n}"] = float(secs)
        return Summary({k: str(v) for k, v in files.items()}, headline)

    def view_columns(self, params) -> tuple[list[str], list[str]]:
        return [names.ERROR_BITS, names.MI_BITS, names.TRUE_MI_BITS, names.WITHIN_10PCT], list(RUN_TAGS)

    def children(self, params, results: list[dict]) -> list[ChildRun]:
        est = self._estimates(params, results, self.data_dir())
        return [ChildRun(f"{r.task}-n{r.n}-{r.estimator}-d{r.data_seed}",
                         {"task": r.task, "family": r.family, "n": str(r.n), "estimator": r.estimator,
                          "data_seed": str(r.data_seed)},
                         metrics={"mi_nats": r.mi_nats, "truth_nats": r.truth_nats, "error_nats": r.error_nats,
                                  names.MI_BITS: r.mi_nats * LOG2E, names.TRUE_MI_BITS: r.truth_nats * LOG2E,
                                  names.ERROR_BITS: r.error_nats * LOG2E, names.WITHIN_10PCT: float(r.within)},
                         status="ok" if np.isfinite(r.mi_nats) else "diverged") for r in est.itertuples()]

    def tables(self, metrics: dict) -> dict[str, str]:
        """``counts``: tasks within 10 % (or 0.05 nat) per estimator, size and data seed; ``families``: per family
        [within / total] over sizes and seeds."""
        rows = [{"estimator": name, "N": n, **{f"seed {k}": f"{v}/{metrics['tasks'][n]}" for k, v in seeds.items()}}
                for name, by_n in metrics["within"].items() for n, seeds in by_n.items()]
        families = sorted({f for by in metrics["per_family"].values() for f in by})
        fam = [{"estimator": name, **{f: "{}/{}".format(*by[f]) if f in by else "" for f in families}}
               for name, by in metrics["per_family"].items()]
        # the references run on the first reference_seeds data seeds only: the other seeds' cells say so
        counts_ = markdown_table(pd.DataFrame(rows), digits=None, missing="not run")
        return super().tables(metrics) | {"counts": counts_, "families": pd.DataFrame(fam).to_markdown(index=False),
                                          "headline": counts_, "tasks": task_table(metrics["per_task"])}

    def report(self, params, summary: Summary, run_id: str) -> str:
        s = pd.read_csv(summary.files["summary"])
        table = s.pivot_table(index=["n", "family", "task", "truth_nats"], columns="estimator", values="mean_nats",
                              sort=False).reset_index()
        metrics = json.loads(Path(summary.files["metrics"]).read_text())
        lines = [f"## {self.title} (profile `{params.profile}`)", "", f"MLflow parent run `{run_id}`.", "",
                 "Tasks within 10 % (or 0.05 nat) of the truth, per data seed:", ""]
        for name, by_n in metrics["within"].items():
            for n, seeds in by_n.items():
                lines.append(f"- {name}, N = {n}: " + ", ".join(f"seed {k}: {v}/{metrics['tasks'][n]}"
                                                                for k, v in seeds.items()))
        return "\n".join(lines + ["", "Mean estimate over data seeds (nats):", "", markdown_table(table, 3)])


def task_table(per_task: list[dict]) -> str:
    """Markdown: per task the truth and each estimator's mean over data seeds (nats), with the count within
    tolerance where a data seed missed (``1.020 (2/3)``: two of three data seeds within)."""
    def cell(mean, within, seeds):
        return f"{mean:.3f}" + ("" if within == seeds else f" ({within}/{seeds})")

    rows = [{"N": r["n"], "family": r["family"], "task": r["task"], "truth (nats)": f"{r['truth_nats']:.3f}",
             **{name: cell(*v) for name, v in r["estimates"].items()}} for r in per_task]
    return markdown_table(pd.DataFrame(rows), digits=None, missing="", disable_numparse=True)  # keeps "1.000"


def counts(est: pd.DataFrame) -> dict:
    """metrics.json: tasks per size; per estimator and size, the tasks within tolerance per data seed; per estimator
    and family, [within, total] over sizes and seeds; and whether the default estimator meets the bar."""
    out: dict = {"tasks": {}, "within": {}, "per_family": {}, "tolerance": {"relative": REL_TOL, "nats": ABS_TOL}}
    for n, part in est.groupby("n"):
        out["tasks"][str(n)] = int(part.task.nunique())
        for (name, seed), g in part.groupby(["estimator", "data_seed"]):
            out["within"].setdefault(name, {}).setdefault(str(n), {})[str(seed)] = int(g.within.sum())
    for (name, family), g in est.groupby(["estimator", "family"]):
        out["per_family"].setdefault(name, {})[family] = [int(g.within.sum()), int(len(g))]
    target = {n: TARGET * out["tasks"][n] / 40 for n in out["tasks"]}
    default = out["within"].get(DEFAULT_ESTIMATOR, {})
    out["default_estimator"] = DEFAULT_ESTIMATOR
    out["default_meets_target"] = {n: all(v >= target[n] for v in seeds.values()) for n, seeds in default.items()}
    out["per_task"] = per_task(est)
    out["claims"] = claims(est)
    return out


def per_task(est: pd.DataFrame) -> list[dict]:
    """Per size and task: family, truth and, per estimator, the mean estimate over data seeds (nats) and the data
    seeds within tolerance, ``{estimator: [mean, within, seeds]}``."""
    rows = []
    for (n, family, task, truth), g in est.groupby(["n", "family", "task", "truth_nats"], sort=False):
        rows.append({"n": int(n), "family": family, "task": task, "truth_nats": float(truth),
                     "estimates": {name: [float(e.mi_nats.mean()), int(e.within.sum()), int(len(e))]
                                   for name, e in g.groupby("estimator", sort=False)}})
    return rows


MARGIN_NATS = 0.01  # a smaller mean |error| difference is not an ordering


def claims(est: pd.DataFrame) -> list[dict]:
    """The default estimator is closer to the truth than each other estimator (bmi's KSG and CCA included): the
    absolute error (nats) paired over the (size, task, data seed) cells both estimated; Holm over the stage."""
    err = est.assign(abs_error=est.error_nats.abs()).pivot_table(index=["n", "task", "data_seed"],
                                                                 columns="estimator", values="abs_error")
    out = []
    for rival in [e for e in err.columns if e != DEFAULT_ESTIMATOR] if DEFAULT_ESTIMATOR in err else []:
        both = err[[DEFAULT_ESTIMATOR, rival]].dropna()
        out.append(stats.Claim(f"{DEFAULT_ESTIMATOR}_closer_than_{rival}",
                               f"{DEFAULT_ESTIMATOR} (anchorbench estimate's default) is closer to the exact MI than "
                               f"{rival}", f"mean paired |error| difference (nats) over tasks x data seeds, {rival} - "
                               f"{DEFAULT_ESTIMATOR}", stats.paired(both[rival].to_numpy(),
                                                                    both[DEFAULT_ESTIMATOR].to_numpy(),
                                                                    margin=MARGIN_NATS)))
    return stats.to_json(stats.decide(out))


EXPERIMENT = Bmi()
