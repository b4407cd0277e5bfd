"""Optuna objective of the SSL tuning: tau (and nu for the anchor objectives) on validation probe accuracy."""

from __future__ import annotations

import tempfile

import optuna

from anchorbench.ssl.config import SSLParams
from anchorbench.ssl.run import Data, run_unit

NU_OBJECTIVES = ("infonce_anchor", "js", "spherical")


class Diverged(RuntimeError):
    """The trial's pretraining produced NaN/inf: the trial fails (it is never scored as a number)."""


def suggest(trial: optuna.Trial, p: SSLParams, objective: str) -> dict:
    """The trial's hyperparameters: tau log-uniform in tune_tau_range; nu log-uniform for anchor objectives."""
    hp = {"tau": trial.suggest_float("tau", *p.tune_tau_range, log=True)}
    if objective in NU_OBJECTIVES:
        hp["nu"] = trial.suggest_float("nu", *p.tune_nu_range, log=True)
    return hp


def trial_value(p: SSLParams, objective: str, hp: dict, data: Data) -> float:
    """Pretrain ``tune_steps`` steps on the tuning pairing (seed ``tune_seed``, never a final seed) and return the
    joint top-1 of a probe trained on the probe train split and scored on the validation split; Diverged if the
    pretraining diverged."""
    unit = {"objective": objective, "pairing": p.tune_pairing, "seed": p.tune_seed, "batch_size": p.batch_size,
            "tau": hp["tau"], "nu": hp.get("nu", p.nu)}
    short = p.model_copy(update={"steps": p.tune_steps})
    with tempfile.TemporaryDirectory() as tmp:
        row = run_unit(short, unit, data, tmp, eval_split="val", post_mi=False)
    if "probe" not in row:
        raise Diverged(f"{objective} pretraining diverged at step {row.get('diverged_step')} ({hp})")
    return float(row["probe"]["top1"])
