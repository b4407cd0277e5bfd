"""Tuning task: one Optuna study per estimator, one MLflow parent run per study, a child per trial."""

from __future__ import annotations

from contextlib import contextmanager

import mlflow
import optuna
from prefect import task

from anchorbench import paths
from anchorbench.config import Params
from anchorbench.tuning import Diverged, make_objective, open_study
from tasks.tracking import base_tags, use_experiment


@task(name="optuna-study", task_run_name="study-{estimator}-{critic}")
def run_study_task(estimator: str, critic: str, params: Params, pools_dir: str | None) -> dict:
    """Run (or resume) the study until it holds ``tune.n_trials`` finished trials; return the best."""
    t = params.tune
    name = f"{t.study_name}-{estimator}-{t.domain}-{critic}-{params.profile}"
    study = open_study(name, paths.optuna_storage(t.storage), t.sampler_seed)
    done = [tr for tr in study.trials if tr.state.is_finished()]
    use_experiment("mi_benchmark_tune")
    tags = base_tags(params.section_hash("tune", "mi_benchmark"), estimator=estimator, critic=critic,
                     domain=t.domain, study=name)

    @contextmanager
    def child(trial: optuna.Trial, chosen: dict):
        with mlflow.start_run(run_name=f"{estimator}-trial-{trial.number}", nested=True, tags=tags | {"trial": trial.number}):
            mlflow.log_params(chosen)
            try:
                yield lambda metrics, step=None: mlflow.log_metrics(metrics, step=step)
                mlflow.set_tag("state", "complete")
            except optuna.TrialPruned:
                mlflow.set_tag("state", "pruned")
                raise
            except Diverged:
                mlflow.set_tag("state", "failed")
                raise

    with mlflow.start_run(run_name=f"study-{name}", tags=tags | {"role": "study"}):
        objective = make_objective(estimator, critic, params, pools_dir, mlflow_child=child)
        remaining = max(0, t.n_trials - len(done))
        study.optimize(objective, n_trials=remaining, catch=(Diverged,), gc_after_trial=True)
        complete = [tr for tr in study.trials if tr.state == optuna.trial.TrialState.COMPLETE]
        if not complete:
            raise RuntimeError(f"study {name}: no trial completed ({len(study.trials)} failed or pruned)")
        mlflow.log_params({f"best_{k}": v for k, v in study.best_params.items()})
        mlflow.log_metric("best_mse", study.best_value)
        counts = {s.name.lower(): sum(tr.state == s for tr in study.trials) for s in optuna.trial.TrialState}
        mlflow.log_metrics({f"trials_{k}": v for k, v in counts.items()})
    return {"study": name, "estimator": estimator, "critic": critic, "best_params": study.best_params, "best_mse": study.best_value, "trials": counts,
            "table": study.trials_dataframe(attrs=("number", "value", "state", "params")).to_dict("records")}
