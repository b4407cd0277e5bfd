"""Optuna objective of the protein tuning: each tuned objective's critic width (and nu where it takes one), scored by
AUROC on training proteins only.

The tuning split: the outer trial 0's training pairs, split again by holding out ``held_out`` of the proteins that
appear in them (``split.inner_split``); the outer held-out proteins never appear, neither as rows nor as queries.
One fixed inner split serves every Optuna trial, so their AUROCs are comparable. Every critic objective is tuned
with the same study budget, or none is (``protein_tune.objectives``); the protein stage then reports each tuned
objective beside its untuned row. Only outer trial 0 is strictly untouched by the tuned values (the other trials'
held-out proteins can be among the tuning proteins).
"""

from __future__ import annotations

import optuna

import estimators
from anchorbench.experiment import Diverged, Log, Study, TrialResult
from anchorbench.protein.dataset import ProteinSet
from anchorbench.protein.protocol import Objective, run_trials, train_settings
from anchorbench.protein.split import TrialSplit, inner_split, outer_split


def tuning_split(ps: ProteinSet, params) -> TrialSplit:
    p = params.protein
    return inner_split(ps, outer_split(ps, p.held_out, p.seed, 0), p.held_out, p.seed, 0)


def study_key(dataset: str, objective: str) -> str:
    """The key of one study in ``best_params.json``: ``<dataset>-<objective label>``."""
    return f"{dataset}-{objective}"


def objective_for(load, label: str, params):
    """``objective(trial, log) -> inner AUROC`` (maximised) of the objective ``label``; ``load()`` gives the dataset
    (read once, on first use)."""
    p, t = params.protein, params.protein_tune
    settings = train_settings(p, max_steps=t.steps)
    name, fixed = estimators.parse_label(label)
    cache: dict = {}

    def objective(trial: optuna.Trial, log: Log) -> TrialResult:
        if not cache:
            cache["ps"] = load()
            cache["split"] = tuning_split(cache["ps"], params)
        ps, split = cache["ps"], cache["split"]
        hparams, width = dict(fixed), trial.suggest_categorical("width", list(t.widths))
        if "nu" in estimators.hyperparameters(name) and "nu" not in fixed:
            hparams["nu"] = trial.suggest_float("nu", *t.nu_range, log=True)
        ((outcome,),) = run_trials(ps, [split], [10_000 + trial.number], [Objective(label, name, hparams, width)], p,
                                   settings=settings)
        if outcome.status != "ok":
            raise Diverged(f"{ps.name} {label} tuning trial {trial.number}: {outcome.status} (diverged step "
                           f"{outcome.diverged_step})")
        return TrialResult(outcome.auroc, {"steps_trained": outcome.steps_trained})

    return objective


def studies(params, load) -> list[Study]:
    """One study per (dataset, tuned objective); ``load(name)`` reads a dataset."""
    return [Study(study_key(d, label), params.protein_tune.study, "auroc",
                  objective_for(lambda d=d: load(d), label, params), {"dataset": d, "objective": label})
            for d in params.protein.datasets for label in params.protein_tune.objectives]
