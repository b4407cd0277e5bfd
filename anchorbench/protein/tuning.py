"""Optuna objective for InfoNCE-anchor's nu and critic width, scored by AUROC on training proteins only.

The tuning split: the outer trial 0's training pairs, split again by holding out ``held_out`` of the proteins
that appear in them (``split.inner_split``). The outer held-out proteins never appear, neither as rows nor as
queries. One fixed inner split serves every Optuna trial, so their AUROCs are comparable. The tuned values are
used in every outer trial; only trial 0 is strictly untouched by them (the other trials' held-out proteins can
be among the tuning proteins), which the README states.
"""

from __future__ import annotations

import optuna

from anchorbench.protein.config import ProteinParams
from anchorbench.protein.dataset import ProteinSet
from anchorbench.protein.protocol import Objective, run_trial, train_settings
from anchorbench.protein.split import TrialSplit, inner_split, outer_split

TUNED = "infonce_anchor"


class Diverged(RuntimeError):
    """The trial's fit diverged: the Optuna trial fails (never scores)."""


def tuning_split(ps: ProteinSet, p: ProteinParams) -> TrialSplit:
    return inner_split(ps, outer_split(ps, p.held_out, p.seed, 0), p.held_out, p.seed, 0)


def make_objective(ps: ProteinSet, p: ProteinParams, on_result=None):
    """``objective(trial) -> inner AUROC`` (maximise). ``on_result(trial, chosen, outcome)`` logs (MLflow)."""
    split = tuning_split(ps, p)
    settings = train_settings(p, max_steps=p.tune_steps)

    def objective(trial: optuna.Trial) -> float:
        chosen = {"nu": trial.suggest_float("nu", *p.tune_nu_range, log=True),
                  "width": trial.suggest_categorical("width", list(p.tune_widths))}
        hparams = {**p.hparams(TUNED), "nu": chosen["nu"]}
        (outcome,) = run_trial(ps, split, [Objective(TUNED, TUNED, hparams, chosen["width"])], p,
                               seed=10_000 + trial.number, settings=settings)
        if on_result is not None:
            on_result(trial, chosen, outcome)
        if outcome.status != "ok":
            raise Diverged(f"{ps.name} tuning trial {trial.number}: {outcome.status} (diverged step "
                           f"{outcome.diverged_step})")
        return outcome.auroc

    return objective
