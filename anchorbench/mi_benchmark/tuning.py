"""Optuna study: tune nu, temperature and critic width against the true MI on validation seeds.

The objective is the MSE (bits^2) of the estimates over the last quarter of every level, on seeds
that the final runs never use. Each level end reports the running MSE so the pruner can stop bad
trials early; a trial whose run diverges fails (it is never scored as a number).
"""

from __future__ import annotations

import math

import numpy as np
import optuna

import estimators
from anchorbench.config import Params
from anchorbench.experiment import Diverged, Log, Study, TrialResult
from anchorbench.mi_benchmark.engine import RunSpec
from anchorbench.mi_benchmark.groups import run_group
from anchorbench.mi_benchmark.plan import CRITIC_KEYS, GroupSpec, critic_config, make_group, study_key

VALIDATION_SEED_OFFSET = 1000  # final runs use seeds 0..seeds-1; validation seeds start here


def search_space(trial: optuna.Trial, estimator: str, critic: str, params: Params) -> dict:
    """Suggest the tunable values that apply to this estimator (a label) and critic."""
    t = params.mi_benchmark_tune
    name, fixed = estimators.parse_label(estimator)
    chosen = {}
    if "nu" in estimators.hyperparameters(name) and "nu" not in fixed:
        chosen["nu"] = trial.suggest_float("nu", *t.nu_range, log=True)
    if critic == "separable":
        chosen["temperature"] = trial.suggest_float("temperature", *t.temperature_range, log=True)
    if critic != "bilinear":
        chosen["width"] = trial.suggest_categorical("width", t.widths)
    return chosen


def trial_group(estimator: str, critic_name: str, chosen: dict, params: Params) -> GroupSpec:
    """The training group of one trial: validation seeds, tuned values applied."""
    p, t = params.mi_benchmark, params.mi_benchmark_tune
    critic = critic_config(p, critic_name, **{k: v for k, v in chosen.items() if k in CRITIC_KEYS})
    name, hparams = estimators.parse_label(estimator)
    hparams |= {"nu": chosen["nu"]} if "nu" in chosen else {}
    runs = [RunSpec(name, VALIDATION_SEED_OFFSET + i, hparams, estimator) for i in range(t.val_seeds)]
    return make_group(p, t.domain, critic, runs, t.steps_per_level)
def tail_mse(estimates_bits: np.ndarray, levels_bits: list[float], truth: list[float], steps_per_level: int) -> float:
    """MSE over the last quarter of each completed level; raises Diverged on NaN."""
    errors = []
    for level in range(estimates_bits.shape[0] // steps_per_level):
        end = (level + 1) * steps_per_level
        tail = estimates_bits[end - max(1, steps_per_level // 4): end]
        if not np.isfinite(tail).all():
            raise Diverged(f"a validation run diverged at level {levels_bits[level]:g} bits")
        errors.append(((tail - truth[level]) ** 2).ravel())
    return float(np.concatenate(errors).mean())


def objective_for(estimator: str, critic: str, params: Params, pools_dir: str | None):
    """The study's objective ``(trial, log) -> TrialResult`` (MSE in bits^2, minimised); each level end reports the
    running MSE so the pruner can stop a bad trial early."""
    def objective(trial: optuna.Trial, log: Log) -> TrialResult:
        chosen = search_space(trial, estimator, critic, params)
        group = trial_group(estimator, critic, chosen, params)
        spl, levels = group.schedule.steps_per_level, list(group.schedule.levels_bits)

        def report(level: int, estimates_bits: np.ndarray) -> None:
            # every domain's true MI equals its target level (exact BSC crossover / Gaussian rho)
            mse = tail_mse(estimates_bits, levels, levels, spl)
            log({"running_mse": mse}, level)
            trial.report(mse, level)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after level {levels[level]:g} bits (MSE {mse:.3f})")

        result, _ = run_group(group, pools_dir, progress=False, on_level_end=report)
        mse = tail_mse(result.estimates_bits, levels, result.true_mi_bits[::spl].tolist(), spl)
        if not math.isfinite(mse):
            raise Diverged("non-finite MSE")
        return TrialResult(mse)

    return objective


def studies(params: Params, pools_dir: str | None) -> list[Study]:
    """One study per (tuned estimator, critic type) on the tuning domain."""
    t = params.mi_benchmark_tune
    return [Study(study_key(est, t.domain, critic), t.study, "mse", objective_for(est, critic, params, pools_dir),
                  {"estimator": est, "critic": critic, "domain": t.domain})
            for critic in t.critics for est in t.estimators]
