"""SSL tuning task: one Optuna study per objective (maximise validation probe accuracy), trials in MLflow."""

from __future__ import annotations

import mlflow
from prefect import task

from anchorbench import names, paths
from anchorbench.ssl.config import SSLParams
from anchorbench.ssl.tuning import suggest, trial_value
from anchorbench.studies import open_study
from tasks.ssl import load_data
from tasks.tracking import base_tags, use_experiment


@task(name="ssl-study", task_run_name="ssl-study-{objective}")
def tune_ssl_task(p: SSLParams, objective: str, data_dir: str, mirror: str | None, profile: str) -> dict:
    """Run ``tune_trials`` trials of the study ``<tune_study_name>-<objective>-<pairing>-<profile>``."""
    data = load_data(p, data_dir, mirror)
    name = f"{p.tune_study_name}-{objective}-{p.tune_pairing}-{profile}"
    study = open_study(name, paths.optuna_storage(p.tune_storage), p.tune_sampler_seed, direction="maximize")
    use_experiment(names.SSL_TUNE)
    tags = base_tags("", objective=objective, **{names.TAG_ROLE: names.ROLE_SSL_STUDY})
    with mlflow.start_run(run_name=name, tags=tags):
        def objective_fn(trial):
            hp = suggest(trial, p, objective)
            value = trial_value(p, objective, hp, data)
            with mlflow.start_run(run_name=f"{name}-{trial.number}", nested=True):
                mlflow.log_params(hp)
                mlflow.log_metric("val_top1", value)
            return value

        study.optimize(objective_fn, n_trials=p.tune_trials)
    table = [{"number": t.number, "value": t.value, "state": t.state.name, **t.params} for t in study.trials]
    return {"objective": objective, "study": name, "best_params": study.best_params, "best_value": study.best_value,
            "table": table}
