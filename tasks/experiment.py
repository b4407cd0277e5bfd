"""Prefect tasks built from an experiment adapter (``anchorbench.experiment``): one set for every experiment.

Tasks take the experiment's key, the validated params and paths, and return small dicts; heavy values (tables,
grids, encoders) are files written atomically. The adapter is looked up from its key inside each task, so a task
pickles small (Dask workers) and every experiment runs the same code path.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import optuna
import pandas as pd
from prefect import task

from anchorbench import experiments, names
from anchorbench.config import Params
from anchorbench.experiment import Diverged, Summary
from anchorbench.io import write_frame, write_json
from anchorbench.resume import content_key, finished, publish
from anchorbench.studies import run_trials, state_counts, study_for
from tasks import tracking


@task(name="prepare-data", task_run_name="{key}-data")
def prepare_task(key: str, params: Params) -> dict:
    """The data stage (``Experiment.prepare_data``): ``data/<key>`` and its manifest, which it returns."""
    return experiments.get(key).prepare_data(params)


@task(name="study", task_run_name="{key}-study-{study_key}")
def study_task(key: str, params: Params, study_key: str) -> dict:
    """Run (or resume, or join other workers on) one study until it holds ``n_trials`` counted trials; every trial
    gets an MLflow child run with its params, metrics and state (complete, pruned or failed)."""
    exp = experiments.get(key)
    spec = next(s for s in exp.studies(params) if s.key == study_key)
    study = study_for(spec.params, spec.key, params.profile)
    tags = tracking.base_tags(exp.params_hash(params), study=study.study_name, **spec.tags)

    def objective(trial: optuna.Trial) -> float:
        run = tracking.TrialRun(f"{spec.key}-trial-{trial.number}", tags | {"trial": trial.number})
        try:
            result = spec.objective(trial, run.log)
        except optuna.TrialPruned:
            run.end("pruned", trial.params)
            raise
        except BaseException:  # Diverged (the trial fails and counts) or a crash: the run ends failed either way
            run.end("failed", trial.params)
            raise
        run.end("complete", trial.params, result.metrics | {spec.metric: result.value})
        return result.value

    with tracking.study_run(names.experiment(key, "tune"), f"study-{study.study_name}", tags):
        run_trials(study, objective, spec.params.n_trials, catch=(Diverged,))
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if not complete:
            raise RuntimeError(f"study {study.study_name}: no trial completed ({len(study.trials)} failed or pruned)")
        counts = state_counts(study)
        mlflow.log_params({f"best_{k}": v for k, v in study.best_params.items()})
        mlflow.log_metrics({f"best_{spec.metric}": study.best_value} | {f"trials_{k}": v for k, v in counts.items()})
    table = study.trials_dataframe(attrs=("number", "value", "state", "params")).assign(study=spec.key)
    return {"key": spec.key, "study": study.study_name, "metric": spec.metric, "direction": spec.params.direction,
            "best_value": study.best_value, "best_params": study.best_params, "trials": counts,
            "table": table.to_dict("records")}


@task(name="tune-outputs", task_run_name="{key}-tune-outputs")
def tune_outputs_task(key: str, studies: list[dict]) -> dict:
    """``results/<key>/tune/{best_params.json, trials.csv, metrics.json}``: the train stage reads best_params.json
    (``{study key: best params}``)."""
    out = experiments.get(key).tune_dir()
    best = {s["key"]: s["best_params"] for s in studies}
    write_json(out / "best_params.json", best)
    tables = [pd.DataFrame(s["table"]) for s in studies]  # none: the stage tunes nothing (its section says so)
    write_frame(out / "trials.csv", pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=["number", "value", "state", "study"]))
    write_json(out / "metrics.json", {s["key"]: {"metric": s["metric"], "best_value": s["best_value"], **s["trials"]}
                                      for s in studies})
    return best


@task(name="unit", task_run_name="{key}-{name}")
def unit_task(key: str, params: Params, unit, name: str, data_version: str, code_version: str) -> dict:
    """One unit of the train stage, unless it already finished with the same spec, data and code (reused from
    ``.cache/units/<key>/``, not recomputed); its files are then published to ``results/<key>/`` if the
    experiment publishes units. Returns its result with ``folder``, the unit's cache folder."""
    exp = experiments.get(key)
    unit_key = content_key(key, unit, exp.unit_key(params), data_version, code_version)
    folder, result = finished(exp.units_dir(), name, unit_key,
                              lambda tmp: exp.run_unit(params, unit, exp.data_dir(), tmp))
    if exp.publish_units:
        publish(folder, exp.results_dir())
    return result | {"folder": str(folder)}


@task(name="summarise", task_run_name="{key}-summarise")
def summarise_task(key: str, params: Params, results: list[dict]) -> Summary:
    exp = experiments.get(key)
    return exp.summarise(params, results, exp.data_dir(), exp.results_dir())


@task(name="track", task_run_name="{key}-track", retries=2, retry_delay_seconds=[2, 10])
def track_task(key: str, params: Params, results: list[dict], summary: Summary, flow_run: str) -> tuple[str, str]:
    """The train stage in MLflow: a parent run (params, headline metrics, files), the adapter's child runs and
    the comparison view of its headline columns; retried on a store hiccup. Returns the parent's run id and the
    view's URL (relative to the MLflow UI's address)."""
    exp = experiments.get(key)
    tags = tracking.base_tags(exp.params_hash(params), profile=params.profile, prefect_flow_run=flow_run)
    return tracking.log_stage(names.experiment(key), f"{exp.cli_name}-{params.profile}", tags,
                              exp.parent_params(params), summary, exp.children(params, results),
                              exp.view_columns(params))


def tuned_values(key: str, params: Params) -> dict:
    """``{study key: best params}`` from the tune stage, or {} when the train section's ``use_tuned`` is off, the
    experiment has no tune stage, or it has not run."""
    exp = experiments.get(key)
    path = Path(exp.tune_dir()) / "best_params.json"
    if "tune" not in exp.stages or not getattr(exp.section(params, "train"), "use_tuned", False):
        return {}
    if not path.exists():
        print(f"no {path}: the {key} stage runs with its configured values (run the {exp.stage_name('tune')} stage)")
        return {}
    return json.loads(path.read_text())
