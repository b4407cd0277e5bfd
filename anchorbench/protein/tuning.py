"""Optuna objective for InfoNCE-anchor's nu and critic width, scored by AUROC on training proteins only.

The tuning split: the outer trial 0's training pairs, split again by holding out ``held_out`` of the proteins
that appear in them (``split.inner_split``). The outer held-out proteins never appear, neither as rows nor as
queries. One fixed inner split serves every Optuna trial, so their AUROCs are comparable. The tuned values are
used in every outer trial; only trial 0 is strictly untouched by them (the other trials' held-out proteins can
be among the tuning proteins), which the README states.
"""

from __future__ import annotations

import optuna

from anchorbench.experiment import Diverged, Log, Study, TrialResult
from anchorbench.protein.dataset import ProteinSet
from anchorbench.protein.protocol import TUNED, Objective, run_trial, train_settings
from anchorbench.protein.split import TrialSplit, inner_split, outer_split


def tuning_split(ps: ProteinSet, params) -> TrialSplit:
    p = params.protein
    return inner_split(ps, outer_split(ps, p.held_out, p.seed, 0), p.held_out, p.seed, 0)


def objective_for(load, params):
    """``objective(trial, log) -> inner AUROC`` (maximised); ``load()`` gives the dataset (read once, on first use)."""
    p, t = params.protein, params.protein_tune
    settings = train_settings(p, max_steps=t.steps)
    cache: dict = {}

    def objective(trial: optuna.Trial, log: Log) -> TrialResult:
        if not cache:
            cache["ps"] = ps = load()
            cache["split"] = tuning_split(ps, params)
        ps, split = cache["ps"], cache["split"]
        chosen = {"nu": trial.suggest_float("nu", *t.nu_range, log=True),
                  "width": trial.suggest_categorical("width", list(t.widths))}
        (outcome,) = run_trial(ps, split, [Objective(TUNED, TUNED, {"nu": chosen["nu"]}, chosen["width"])], p,
                               seed=10_000 + trial.number, settings=settings)
        if outcome.status != "ok":
            raise Diverged(f"{ps.name} tuning trial {trial.number}: {outcome.status} (diverged step "
                           f"{outcome.diverged_step})")
        return TrialResult(outcome.auroc, {"steps_trained": outcome.steps_trained})

    return objective


def studies(params, load) -> list[Study]:
    """One study per dataset (key: the dataset); ``load(name)`` reads a dataset."""
    return [Study(name, params.protein_tune.study, "auroc", objective_for(lambda name=name: load(name), params),
                  {"dataset": name, "estimator": TUNED}) for name in params.protein.datasets]
