"""Prefect tasks of the protein experiment: datasets, one task per (dataset, trial), the Optuna study, the
summary and figures, and the MLflow record.

Tasks take configs and paths and return paths or small dicts; the per-trial PMI grids are files
(``results/protein/trials/<dataset>/trial_<t>.npz``), written atomically; finished trials are kept
content-keyed (anchorbench.resume), so a rerun after a kill refits only the unfinished ones.
"""

from __future__ import annotations

import time
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pandas as pd
from prefect import task

from anchorbench import names, paths
from anchorbench.io import atomic_path, write_frame, write_json
from anchorbench.protein import plots
from anchorbench.protein.config import ProteinDataParams, ProteinParams
from anchorbench.protein.dataset import load
from anchorbench.protein.evaluate import auroc, summarise
from anchorbench.protein.prepare import finish, prepare
from anchorbench.protein.protocol import objectives_for, run_trial
from anchorbench.protein.split import outer_split
from anchorbench.protein.tuning import TUNED, Diverged, make_objective
from anchorbench.resume import content_key, finished, publish
from anchorbench.studies import open_study, run_trials
from tasks.tracking import base_tags, log_figure_files, use_experiment

ORACLE = plots.ORACLE


@task(name="protein-dataset", task_run_name="dataset-{name}")
def prepare_dataset_task(p: ProteinDataParams, root: str, name: str) -> dict:
    """Build or read dataset ``name``, write it under ``root``; its files and counts."""
    return prepare(p, Path(root), name)


@task(name="protein-manifest")
def manifest_task(p: ProteinDataParams, root: str, prepared: list[dict]) -> dict:
    return finish(p, Path(root), prepared)


def trial_seed(p: ProteinParams, trial: int) -> int:
    """The critics' seed of an outer trial (shared by its objectives: same init where shapes agree, same batches)."""
    return p.seed * 100_000 + trial


@task(name="protein-trial", task_run_name="{dataset}-trial-{trial}")
def trial_task(p: ProteinParams, data_root: str, dataset: str, trial: int, tuned: dict | None, out_dir: str,
               cache_dir: str, data_version: str, code_version: str) -> dict:
    """Hold out proteins, fit every objective, score the query grid: the grids to
    ``<out_dir>/trials/<dataset>/trial_<t>.npz``, the rows returned. A trial that already finished with the same
    params, data and code is reused (anchorbench.resume), not refitted."""
    relative = Path("trials") / dataset / f"trial_{trial:02d}.npz"

    def fit(folder: Path) -> dict:
        start = time.perf_counter()
        ps = load(Path(data_root), dataset)
        split = outer_split(ps, p.held_out, p.seed, trial)
        outcomes = run_trial(ps, split, objectives_for(p, tuned), p, trial_seed(p, trial))
        grids = {o.objective: o.grid.astype(np.float32) for o in outcomes if o.grid is not None}
        common = {"dataset": dataset, "trial": trial, "positives": int(split.labels.sum()),
                  "queries": split.labels.size, "train_pairs": len(split.train_rows), "val_pairs": len(split.val_rows)}
        rows = [common | {"objective": o.objective, "auroc": o.auroc, "status": o.status,
                          "steps_trained": o.steps_trained, "best_step": o.best_step,
                          "diverged_step": o.diverged_step, "mi_bits": o.mi_bits}
                for o in outcomes]
        if ps.truth is not None:  # the stand-in's ceiling: its true interaction log-weights as scores
            grids[ORACLE] = ps.truth.log_weight(split.held_out, split.held_out).astype(np.float32)
            value = auroc(grids[ORACLE], split.labels)
            rows.append(common | {"objective": ORACLE, "auroc": value, "status": "ok" if np.isfinite(value)
                                  else "no_positives", "steps_trained": 0, "best_step": None, "diverged_step": None,
                                  "mi_bits": float("nan")})
        (folder / relative).parent.mkdir(parents=True)
        with open(folder / relative, "wb") as fh:
            np.savez_compressed(fh, labels=split.labels, **grids)
        seconds = time.perf_counter() - start
        return {"rows": [r | {"seconds": seconds} for r in rows]}

    key = content_key(p, dataset, trial, tuned, data_version, code_version)
    folder, result = finished(cache_dir, f"{dataset}-trial_{trial:02d}", key, fit)
    publish(folder, out_dir)
    return {"file": str(Path(out_dir) / relative), "rows": result["rows"]}


@task(name="protein-summary")
def summarise_task(rows: list[dict], trial_files: dict[str, list[str]], order: list[str], out_dir: str) -> dict:
    """auroc.csv (per trial), summary.csv (mean, SD), metrics.json, roc.png, pmi_hist.png; their paths."""
    out = Path(out_dir)
    # wall-clock seconds go to MLflow only: a DVC output must hash the same on every rerun
    per_trial = (pd.DataFrame(rows).drop(columns="seconds")
                 .sort_values(["dataset", "objective", "trial"], kind="stable"))
    summary = summarise(per_trial)
    files = {"auroc": str(write_frame(out / "auroc.csv", per_trial)),
             "summary": str(write_frame(out / "summary.csv", summary))}
    metrics = {}
    for r in summary.itertuples():
        metrics.setdefault(r.dataset, {})[r.objective] = {
            "auroc_mean": None if pd.isna(r.auroc_mean) else round(float(r.auroc_mean), 4),
            "auroc_sd": None if pd.isna(r.auroc_sd) else round(float(r.auroc_sd), 4),
            "trials": int(r.trials), "failed": int(r.failed)}
    files["metrics"] = str(write_json(out / "metrics.json", {"auroc": metrics}))
    per_dataset = {d: [Path(f) for f in fs] for d, fs in trial_files.items()}
    with atomic_path(out / "roc.png") as tmp:
        plots.roc_figure(per_dataset, order, tmp)
    with atomic_path(out / "pmi_hist.png") as tmp:
        plots.pmi_hist_figure(per_dataset, order, tmp)
    files |= {"roc": str(out / "roc.png"), "pmi_hist": str(out / "pmi_hist.png")}
    return files


@task(name="protein-mlflow", retries=2, retry_delay_seconds=[2, 10])
def log_protein_task(files: dict, rows: list[dict], params_hash: str, profile: str, flow_run: str,
                     run_params: dict) -> str:
    """A parent run for the stage run, a child per (dataset, objective, trial); figures as artifacts."""
    use_experiment(names.PROTEIN)
    tags = base_tags(params_hash, profile=profile, prefect_flow_run=flow_run)
    with mlflow.start_run(run_name=f"protein-{profile}", tags=tags | {names.TAG_ROLE: names.ROLE_BENCHMARK}) as parent:
        mlflow.log_params(run_params)
        summary = pd.read_csv(files["summary"])
        for r in summary.itertuples():
            if pd.notna(r.auroc_mean):
                mlflow.log_metrics({f"auroc_mean_{r.dataset}_{r.objective}": r.auroc_mean,
                                    f"auroc_sd_{r.dataset}_{r.objective}": r.auroc_sd})
        for row in rows:
            child_tags = tags | {k: str(row[k]) for k in names.PROTEIN_RUN_KEYS} | {names.TAG_STATUS: row["status"]}
            with mlflow.start_run(run_name=f"{row['dataset']}-{row['objective']}-{row['trial']}", nested=True,
                                  tags=child_tags):
                metrics = {"auroc": row["auroc"], "steps_trained": row["steps_trained"],
                           "early_stop_step": row["best_step"], "mi_bits": row["mi_bits"],
                           "positives": row["positives"], "trial_seconds": row["seconds"]}
                mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None and np.isfinite(v)})
        log_figure_files(*(Path(files[k]) for k in ("roc", "pmi_hist")))
        for k in ("auroc", "summary", "metrics"):
            mlflow.log_artifact(files[k])
        return parent.info.run_id


@task(name="protein-study", task_run_name="study-{dataset}")
def tune_task(p: ProteinParams, data_root: str, dataset: str, profile: str, params_hash: str) -> dict:
    """Optuna over nu and width of InfoNCE-anchor on dataset's tuning split (training proteins only); the best."""
    ps = load(Path(data_root), dataset)
    name = f"{p.tune_study}-{dataset}-{profile}"
    study = open_study(name, paths.optuna_storage(p.tune_storage), p.seed, direction="maximize")
    use_experiment(names.PROTEIN_TUNE)
    tags = base_tags(params_hash, dataset=dataset, estimator=TUNED, study=name)

    def on_result(trial: optuna.Trial, chosen: dict, outcome) -> None:
        with mlflow.start_run(run_name=f"{dataset}-trial-{trial.number}", nested=True,
                              tags=tags | {"trial": trial.number, "state": "complete" if outcome.status == "ok"
                                           else "failed"}):
            mlflow.log_params(chosen)
            mlflow.log_metrics({k: float(v) for k, v in {"auroc": outcome.auroc, "steps_trained":
                                outcome.steps_trained}.items() if np.isfinite(v)})

    with mlflow.start_run(run_name=f"study-{name}", tags=tags | {names.TAG_ROLE: names.ROLE_STUDY}):
        # resumes a killed run and joins other workers: stops at exactly tune_trials counted trials
        run_trials(study, make_objective(ps, p, on_result), p.tune_trials, catch=(Diverged,))
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if not complete:
            raise RuntimeError(f"study {name}: no trial completed ({len(study.trials)} failed)")
        counts = {s.name.lower(): sum(t.state == s for t in study.trials) for s in optuna.trial.TrialState}
        mlflow.log_params({f"best_{k}": v for k, v in study.best_params.items()})
        mlflow.log_metrics({"best_auroc": study.best_value} | {f"trials_{k}": v for k, v in counts.items()})
    table = study.trials_dataframe(attrs=("number", "value", "state", "params")).assign(dataset=dataset)
    return {"dataset": dataset, "study": name, "best_params": study.best_params, "best_auroc": study.best_value,
            "trials": counts, "table": table.to_dict("records")}


def write_tune_outputs(studies: list[dict], out_dir: Path) -> dict:
    """results/protein/tune/{best_params.json, trials.csv}: the protein stage reads best_params.json."""
    best = {s["dataset"]: s["best_params"] for s in studies}
    write_json(out_dir / "best_params.json", best)
    write_frame(out_dir / "trials.csv", pd.concat([pd.DataFrame(s["table"]) for s in studies], ignore_index=True))
    write_json(out_dir / "metrics.json",
               {s["dataset"]: {"best_auroc": s["best_auroc"], **s["trials"]} for s in studies})
    return best
