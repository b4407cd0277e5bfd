"""The protein interaction experiment as an adapter (``anchorbench.experiment``; paper Sec. 4.2, App. G.2).

data: the interaction datasets (synthetic stand-in or the real ProtT5 + OmniPath files); tune: one Optuna study
per (dataset, critic objective) on an inner split of training proteins, for all critic objectives or none; train:
one unit per (dataset, chunk of trials): hold out proteins, fit every objective of every trial in one batched call,
score each held-out query grid (the PMI grids are published to ``results/protein/trials/``), then AUROC tables,
figures and the paper's orderings as paired claims over trials (``anchorbench.stats``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import estimators
from anchorbench import names, stats
from anchorbench.experiment import ChildRun, Experiment, Summary, markdown_table
from anchorbench.io import write_frame, write_json
from anchorbench.protein import plots
from anchorbench.protein.dataset import load, save
from anchorbench.protein.evaluate import auroc, summarise
from anchorbench.protein.prepare import build, describe
from anchorbench.protein.protocol import TUNED_SUFFIX, objectives_for, run_trials
from anchorbench.protein.split import outer_split
from anchorbench.protein.tuning import studies, study_key

REFERENCES = plots.REFERENCES
RUN_TAGS = ("dataset", "objective", "trial")
# The paper's orderings (Table: InfoNCE-anchor best on both datasets; JS above chi2), and why the anchor is
# needed at all (plain InfoNCE's PMI is defined only up to C(y)), as (better, worse) pairs per dataset.
ORDERINGS = (("infonce_anchor", "js_plugin"), ("infonce_anchor", "chi2"),
             ("infonce_anchor", "spherical(parametrization=pd)"), ("infonce_anchor", "lmi"),
             ("infonce_anchor", "infonce"), ("js_plugin", "chi2"))
MARGIN = 0.005  # AUROC: a smaller paired difference is not an ordering (another CPU's rounding moves it this much)


@dataclass(frozen=True)
class ProteinTrials:
    """Outer trials of one dataset, fitted together; ``tuned``: ((label, ((key, value), ...)), ...) of the tuned
    objectives, or () when none is tuned."""

    dataset: str
    trials: tuple[int, ...]
    tuned: tuple = ()

    @property
    def name(self) -> str:
        return f"{self.dataset}-trials_{self.trials[0]:02d}-{self.trials[-1]:02d}"


def grid_file(dataset: str, trial: int) -> str:
    return f"trials/{dataset}/trial_{trial:02d}.npz"


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

    def plan(self, params, tuned: dict) -> list[ProteinTrials]:
        p = params.protein
        units = []
        for d in p.datasets:
            mine = tuple((label, tuple(sorted(tuned[study_key(d, label)].items())))
                         for label in params.protein_tune.objectives if study_key(d, label) in tuned)
            trials = list(range(p.trials))
            units += [ProteinTrials(d, tuple(trials[i:i + p.trials_per_unit]), mine)
                      for i in range(0, len(trials), p.trials_per_unit)]
        return units

    def run_unit(self, params, unit: ProteinTrials, data_dir: Path, folder: Path) -> dict:
        """Hold out proteins, fit every objective of every trial, score the query grids; the grids to
        ``trials/<dataset>/trial_<t>.npz`` (with the references where the data has a truth)."""
        p, start = params.protein, time.perf_counter()
        ps = load(data_dir, unit.dataset)
        splits = [outer_split(ps, p.held_out, p.seed, t) for t in unit.trials]
        objectives = objectives_for(p, {label: dict(best) for label, best in unit.tuned})
        per_trial = run_trials(ps, splits, [trial_seed(p, t) for t in unit.trials], objectives, p)
        rows = []
        for trial, split, outcomes in zip(unit.trials, splits, per_trial):
            grids = {o.objective: o.grid.astype(np.float32) for o in outcomes if o.grid is not None}
            common = {"dataset": unit.dataset, "trial": trial, "positives": int(split.labels.sum()),
                      "queries": split.labels.size, "train_pairs": len(split.train_rows),
                      "val_pairs": len(split.val_rows)}
            rows += [common | {"objective": o.objective, "auroc": o.auroc, "status": o.status,
                               "steps_trained": o.steps_trained, "best_step": o.best_step,
                               "diverged_step": o.diverged_step, "mi_bits": o.mi_bits} for o in outcomes]
            if ps.truth is not None:  # the stand-in's references: the Bayes ranking and the true log-weight
                h = split.held_out
                grids |= {"bayes": ps.truth.inclusion(h, h).astype(np.float32),
                          "log_weight": ps.truth.log_weight(h, h).astype(np.float32)}
                for name in REFERENCES:
                    value = auroc(grids[name], split.labels)
                    rows.append(common | {"objective": name, "auroc": value, "status": "ok" if np.isfinite(value)
                                          else "no_positives", "steps_trained": 0, "best_step": None,
                                          "diverged_step": None, "mi_bits": float("nan")})
            path = folder / grid_file(unit.dataset, trial)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as fh:
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
                 "metrics": write_json(out / "metrics.json", {"auroc": metrics, "claims": claims(per_trial)})}
        grids = {d: [out / grid_file(d, t) for t in range(p.trials)] for d in p.datasets}
        order = list(dict.fromkeys(per_trial.objective[~per_trial.objective.isin(REFERENCES)]))
        files["roc"] = plots.roc_figure(grids, order, out / "roc.png")
        files["pmi_hist"] = plots.pmi_hist_figure(grids, order, out / "pmi_hist.png")
        ok = per_trial[(per_trial.status == "ok") & ~per_trial.objective.isin(REFERENCES)]
        headline = {f"{names.AUROC}_{d}": float(g.auroc.mean()) for d, g in ok.groupby("dataset")}
        return Summary({k: str(v) for k, v in files.items()}, headline)

    def view_columns(self, params) -> tuple[list[str], list[str]]:
        return [names.AUROC, names.MI_BITS], list(RUN_TAGS)

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

    def tables(self, metrics: dict) -> dict[str, str]:
        """``auroc``: AUROC mean ± SD (trials) per objective and dataset, references last; and the claims."""
        cells: dict[str, dict[str, str]] = {}
        for dataset, objectives in metrics["auroc"].items():
            for objective, m in objectives.items():
                cell = f"{m['auroc_mean']:.3f} ± {m['auroc_sd']:.3f} ({m['trials']})" if m["auroc_mean"] else "failed"
                cells.setdefault(objective, {})[dataset] = cell
        order = [o for o in cells if o not in REFERENCES] + [o for o in REFERENCES if o in cells]
        frame = pd.DataFrame([{"objective": o, "paper's name": _display(o), **cells[o]} for o in order])
        keep = ["infonce_anchor", "js_plugin", "chi2", "lmi", "bayes"]
        return super().tables(metrics) | {
            "auroc": markdown_table(frame, digits=None, missing=""),
            "headline": markdown_table(frame[frame.objective.isin(keep)], digits=None, missing="")}

    def report(self, params, summary: Summary, run_id: str) -> str:
        s = pd.read_csv(summary.files["summary"])
        s["cell"] = [("failed" if pd.isna(m) else f"{m:.3f} ± {sd:.3f} ({n})")
                     for m, sd, n in zip(s.auroc_mean, s.auroc_sd, s.trials)]
        table = s.pivot(index="objective", columns="dataset", values="cell")
        order = [o for o in [*params.protein.objectives, *REFERENCES] if o in table.index]
        order += [o for o in table.index if o not in order]
        claims_ = json.loads(Path(summary.files["metrics"]).read_text())["claims"]
        return "\n".join([f"## Protein interaction AUROC (profile `{params.profile}`)", "",
                          f"mean ± SD over trials (scored trials); MLflow parent run `{run_id}`.", "",
                          markdown_table(table.reindex(order).reset_index()), "", "### Claims", "",
                          stats.markdown_table(claims_)])


def _display(objective: str) -> str:
    """The paper's name of a table row (an estimator label, "lmi", a reference, or "<label> (tuned)")."""
    base = objective.removesuffix(TUNED_SUFFIX)
    if base in REFERENCES:
        return {"bayes": "Bayes ranking (reference)", "log_weight": "true log-weight (reference)"}[base]
    try:
        name = "LMI" if base == "lmi" else estimators.paper_name(base)
    except ValueError:  # not a label (a row of older results)
        name = base
    return name + (" (tuned)" if objective != base else "")


def claims(per_trial: pd.DataFrame) -> list[dict]:
    """The paper's orderings per dataset, each a paired comparison of AUROCs over the same trials (Holm-corrected
    over the stage's claims): ``stats.to_json`` entries."""
    ok = per_trial[per_trial.status == "ok"].pivot_table(index=["dataset", "trial"], columns="objective",
                                                          values="auroc")
    out = []
    for dataset, table in ok.groupby(level="dataset"):
        for better, worse in ORDERINGS:
            if better in table and worse in table:
                out.append(stats.Claim(
                    f"{dataset}:{better}>{worse}", f"{better} has a higher AUROC than {worse} on {dataset}",
                    f"mean paired AUROC difference over trials, {better} - {worse}",
                    stats.paired(table[better].to_numpy(), table[worse].to_numpy(), margin=MARGIN)))
    return stats.to_json(stats.decide(out))


EXPERIMENT = Protein()
