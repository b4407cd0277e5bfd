"""Optuna objective of the SSL tuning: tau (and nu where the objective takes it) on validation probe accuracy."""

from __future__ import annotations

import tempfile

import optuna

from anchorbench.experiment import Diverged, Log, Study, TrialResult
from anchorbench.ssl.run import SSLUnit, run_unit


def objective_for(params, objective: str, load_data):
    """``objective(trial, log) -> validation top-1`` (maximised) of ``objective`` (a label): pretrain
    ``ssl_tune.steps`` steps on the tuning pairing (seed ``ssl_tune.seed``, never a final seed), probe on the probe
    train split, score the pairing's headline probe on the validation split. ``load_data()`` gives the images (read
    once, on first use)."""
    p, t = params.ssl, params.ssl_tune
    cache: dict = {}

    def trial_objective(trial: optuna.Trial, log: Log) -> TrialResult:
        if "data" not in cache:
            cache["data"] = load_data()
        data = cache["data"]
        tau = trial.suggest_float("tau", *t.tau_range, log=True)
        nu = trial.suggest_float("nu", *t.nu_range, log=True) if p.nu_of(objective) is not None else None
        unit = SSLUnit(objective, t.pairing, p.batch_size, t.seed, tau, nu, t.steps)
        with tempfile.TemporaryDirectory() as tmp:
            row = run_unit(p, unit, data, tmp, eval_split="val", post_mi=False)
        if "probe" not in row:
            raise Diverged(f"{objective} pretraining diverged at step {row['diverged_step']} (tau {tau:.3g}, nu {nu})")
        return TrialResult(float(row["probe"]["top1"]), {"final_loss": row["final_loss"]})

    return trial_objective


def studies(params, load_data) -> list[Study]:
    """One study per tuned objective (key: its label)."""
    return [Study(o, params.ssl_tune.study, "top1", objective_for(params, o, load_data),
                  {"objective": o, "pairing": params.ssl_tune.pairing}) for o in params.ssl_tune.objectives]
