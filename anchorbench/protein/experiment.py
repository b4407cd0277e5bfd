"""The protein interaction experiment as an adapter (``anchorbench.experiment``; paper Sec. 4.2, App. G.2).

data: the interaction datasets (synthetic stand-in or the real ProtT5 + OmniPath files); tune: one Optuna study
per dataset over InfoNCE-anchor's nu and width on an inner split of training proteins; train: one unit per
(dataset, trial): hold out proteins, fit every objective, score the held-out query grid (its PMI grids are
published to ``results/protein/trials/``), then AUROC tables and figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anchorbench import names
from anchorbench.experiment import ChildRun, Experiment, Summary, markdown_table
from anchorbench.io import write_frame, write_json
from anchorbench.protein import plots
from anchorbench.protein.dataset import load, save
from anchorbench.protein.evaluate import auroc, summarise
from anchorbench.protein.prepare import build, describe
from anchorbench.protein.protocol import objectives_for, run_trial
from anchorbench.protein.split import outer_split
from anchorbench.protein.tuning import studies

ORACLE = plots.ORACLE
RUN_TAGS = ("dataset", "objective", "trial")


@dataclass(frozen=True)
class ProteinTrial:
    """One outer trial of one dataset; ``tuned``: InfoNCE-anchor's tuned (nu, width), or () when not tuned."""

    dataset: str
    trial: int
    tuned: tuple[tuple[str, float], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.dataset}-trial_{self.trial:02d}"

    @property
    def grid_file(self) -> str:
        return f"trials/{self.dataset}/trial_{self.trial:02d}.npz"


def trial_seed(p, trial: int) -> int:
    """The critics' seed of an outer trial (shared by its objectives: same init where shapes agree, same batches)."""
    return p.seed * 100_000 + trial


class Protein(Experiment):
    key = "protein"
    title = "Protein interaction AUROC"

    def prepare(self, params, out: Path) -> dict:
        d = params.protein_data
        datasets = {}
        for name in d.datasets:
            ps = build(d, name)
            save(ps, out)
            datasets[name] = describe(ps)
        info = {"source": d.source, "datasets": datasets}
        if d.source == "synthetic":
            info["note"] = ("synthetic stand-in for ProtT5 + OmniPath (anchorbench/protein/synthetic.py); "
                            "truth.npz holds the generator's interaction rule (the oracle)")
        return info

    def studies(self, params):
        return studies(params, lambda name: load(self.data_dir(), name))

    def plan(self, params, tuned: dict) -> list[ProteinTrial]:
        p = params.protein
        return [ProteinTrial(d, t, tuple(sorted(tuned.get(d, {}).items())))
                for d in p.datasets for t in range(p.trials)]

    def run_unit(self, params, unit: ProteinTrial, data_dir: Path, folder: Path) -> dict:
        """Hold out proteins, fit every objective, score the query grid; the grids to ``unit.grid_file``."""
        p, start = params.protein, time.perf_counter()
        ps = load(data_dir, unit.dataset)
        split = outer_split(ps, p.held_out, p.seed, unit.trial)
        outcomes = run_trial(ps, split, objectives_for(p, dict(unit.tuned)), p, trial_seed(p, unit.trial))
        grids = {o.objective: o.grid.astype(np.float32) for o in outcomes if o.grid is not None}
        common = {"dataset": unit.dataset, "trial": unit.trial, "positives": int(split.labels.sum()),
                  "queries": split.labels.size, "train_pairs": len(split.train_rows), "val_pairs": len(split.val_rows)}
        rows = [common | {"objective": o.objective, "auroc": o.auroc, "status": o.status,
                          "steps_trained": o.steps_trained, "best_step": o.best_step,
                          "diverged_step": o.diverged_step, "mi_bits": o.mi_bits} for o in outcomes]
        if ps.truth is not None:  # the stand-in's ceiling: its true interaction log-weights as scores
            grids[ORACLE] = ps.truth.log_weight(split.held_out, split.held_out).astype(np.float32)
            value = auroc(grids[ORACLE], split.labels)
            rows.append(common | {"objective": ORACLE, "auroc": value, "status": "ok" if np.isfinite(value)
                                  else "no_positives", "steps_trained": 0, "best_step": None, "diverged_step": None,
                                  "mi_bits": float("nan")})
        (folder / unit.grid_file).parent.mkdir(parents=True)
        with open(folder / unit.grid_file, "wb") as fh:
            np.savez_compressed(fh, labels=split.labels, **grids)
        return {"rows": rows, "seconds": time.perf_counter() - start}

    def summarise(self, params, results: list[dict], data_dir: Path, out: Path) -> Summary:
        """auroc.csv (per trial), summary.csv (mean, SD), metrics.json, roc.png, pmi_hist.png."""
        p = params.protein
        per_trial = pd.DataFrame([r for res in results for r in res["rows"]]).sort_values(
            ["dataset", "objective", "trial"], kind="stable")
        summary = summarise(per_trial)
        metrics: dict = {}
        for r in summary.itertuples():
            metrics.setdefault(r.dataset, {})[r.objective] = {
                "auroc_mean": None if pd.isna(r.auroc_mean) else round(float(r.auroc_mean), 4),
                "auroc_sd": None if pd.isna(r.auroc_sd) else round(float(r.auroc_sd), 4),
                "trials": int(r.trials), "failed": int(r.failed)}
        files = {"auroc": write_frame(out / "auroc.csv", per_trial),
                 "summary": write_frame(out / "summary.csv", summary),
                 "metrics": write_json(out / "metrics.json", {"auroc": metrics})}
        grids = {d: [out / f"trials/{d}/trial_{t:02d}.npz" for t in range(p.trials)] for d in p.datasets}
        files["roc"] = plots.roc_figure(grids, list(p.objectives), out / "roc.png")
        files["pmi_hist"] = plots.pmi_hist_figure(grids, list(p.objectives), out / "pmi_hist.png")
        ok = per_trial[(per_trial.status == "ok") & (per_trial.objective != ORACLE)]
        headline = {f"{names.AUROC}_{d}": float(g.auroc.mean()) for d, g in ok.groupby("dataset")}
        return Summary({k: str(v) for k, v in files.items()}, headline)

    def children(self, params, results: list[dict]) -> list[ChildRun]:
        out = []
        for res in results:
            for row in res["rows"]:
                metrics = {names.AUROC: row["auroc"], "steps_trained": row["steps_trained"],
                           "early_stop_step": row["best_step"], names.MI_BITS: row["mi_bits"],
                           "positives": row["positives"], "trial_seconds": res["seconds"]}
                out.append(ChildRun(f"{row['dataset']}-{row['objective']}-{row['trial']}",
                                    {k: str(row[k]) for k in RUN_TAGS},
                                    metrics={k: v for k, v in metrics.items() if v is not None}, status=row["status"]))
        return out

    def report(self, params, summary: Summary, run_id: str) -> str:
        s = pd.read_csv(summary.files["summary"])
        s["cell"] = [("failed" if pd.isna(m) else f"{m:.3f} ± {sd:.3f} ({n})")
                     for m, sd, n in zip(s.auroc_mean, s.auroc_sd, s.trials)]
        table = s.pivot(index="objective", columns="dataset", values="cell")
        order = [o for o in [*params.protein.objectives, ORACLE] if o in table.index]
        return "\n".join([f"## Protein interaction AUROC (profile `{params.profile}`)", "",
                          f"mean ± SD over trials (scored trials); MLflow parent run `{run_id}`.", "",
                          markdown_table(table.reindex(order).reset_index())])


EXPERIMENT = Protein()
