"""Trials of the protein protocol: fit every objective on each trial's training pairs, score its query grid.

Every objective of a trial trains on that trial's split with the trial's seed (same initial weights where shapes
agree, same batches); all trials and objectives of one critic width train in one batched fit-core call (a tuned
objective with another width gets its own). The score of a query pair is the fitted PMI in nats
(``FitResult.pmi_grid``); the LMI baseline goes through ``latentmi`` (anchorbench.protein.lmi), one trial at a time.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np

import estimators
from anchorbench.fit import FitRun, PairedSplit, TrainSettings, fit_runs
from anchorbench.protein.config import LMI, ProteinParams
from anchorbench.protein.dataset import ProteinSet
from anchorbench.protein.evaluate import auroc
from anchorbench.protein.lmi import LMISettings, lmi_pmi_grid
from anchorbench.protein.split import TrialSplit

TUNED_SUFFIX = " (tuned)"  # the row of an objective with the protein_tune stage's values, beside the untuned one


@dataclass(frozen=True)
class Objective:
    """A scored method: ``label`` (as in the tables), registry ``estimator`` (or "lmi"), hyperparameters, width."""

    label: str
    estimator: str
    hparams: dict = field(default_factory=dict)
    width: int = 256


@dataclass
class Outcome:
    """One (objective, trial): the PMI grid [h, h] in nats (None if it failed) and how training went."""

    objective: str
    grid: np.ndarray | None
    status: str  # ok | diverged | no_positives
    auroc: float
    steps_trained: int  # critic: steps until it stopped; LMI: epochs
    best_step: int | None  # the early-stopping step whose state is kept (critics)
    diverged_step: int | None = None
    mi_bits: float = float("nan")  # the objective's MI readout on the validation pairs


def objectives_for(p: ProteinParams, tuned: dict[str, dict] | None = None) -> list[Objective]:
    """The configured objectives (labels, or "lmi") with the paper's fixed critic (``p.width``), then, for each
    objective in ``tuned`` (``{label: {"width": .., "nu": ..}}`` from the protein_tune stage), a second row
    ``"<label> (tuned)"`` with those values: the untuned objective is always reported beside its tuned one."""
    out = []
    for label in p.objectives:
        name, hparams = (LMI, {}) if label == LMI else estimators.parse_label(label)
        out.append(Objective(label, name, hparams, p.width))
    for label, best in (tuned or {}).items():
        name, hparams = estimators.parse_label(label)
        out.append(Objective(label + TUNED_SUFFIX, name, hparams | ({"nu": float(best["nu"])} if "nu" in best else {}),
                             int(best["width"])))
    return out


def train_settings(p: ProteinParams, max_steps: int | None = None, progress: bool = False) -> TrainSettings:
    return TrainSettings(batch_size=p.batch_size, lr=p.lr, max_steps=max_steps or p.max_steps, patience=p.patience,
                         check_every=p.check_every, standardize=True, clip=p.clip, device=p.device, progress=progress)


def critic_spec(p: ProteinParams, width: int) -> dict:
    """The paper's separable critic: an MLP per side, depth + 1 hidden layers (depth = 3: four of 256), embed-d."""
    return {"type": "separable", "width": width, "depth": p.depth, "embed": p.embed}


def lmi_settings(p: ProteinParams) -> LMISettings:
    return LMISettings(epochs=p.lmi_epochs, patience=p.lmi_patience, latent=p.lmi_latent,
                       batch_size=p.lmi_batch_size, k=p.lmi_k, clip=p.clip)


def run_trials(ps: ProteinSet, splits: list[TrialSplit], seeds: list[int], objectives: list[Objective],
               p: ProteinParams, settings: TrainSettings | None = None) -> list[list[Outcome]]:
    """Fit every objective on every split's training pairs (its validation pairs for early stopping) and score its
    query grid; ``seeds[t]`` seeds trial t's critics. Returns, per trial, the outcomes in ``objectives``' order."""
    settings = settings or train_settings(p)
    arrays = [split.arrays(ps) for split in splits]  # x_train, y_train, x_val, y_val per trial
    fit_splits = [PairedSplit(*a) for a in arrays]
    outcomes: list[dict[str, Outcome]] = [{} for _ in splits]
    critics = [o for o in objectives if o.estimator != LMI]
    for width, group in itertools.groupby(sorted(critics, key=lambda o: o.width), key=lambda o: o.width):
        group = list(group)
        runs = [(t, o, FitRun(t, o.estimator, o.hparams, seeds[t])) for t in range(len(splits)) for o in group]
        results = fit_runs(fit_splits, [r for _, _, r in runs], critic_spec(p, width), settings)
        for (t, o, _), r in zip(runs, results):
            if r.diverged:
                outcomes[t][o.label] = Outcome(o.label, None, "diverged", float("nan"), r.stopped_step, None,
                                               r.diverged_step)
                continue
            queries = splits[t].queries(ps)  # [h, 1024]: the grid's sources and targets
            with warnings.catch_warnings():  # plain InfoNCE's PMI is only defined up to C(y): that is the point here
                warnings.simplefilter("ignore")
                grid = r.pmi_grid(queries, queries)
            outcomes[t][o.label] = _scored(o.label, grid, splits[t].labels, r.stopped_step, r.best_step, r.mi_bits)
    for t, split in enumerate(splits):
        for o in objectives:
            if o.estimator == LMI:
                queries = split.queries(ps)
                grid, epochs = lmi_pmi_grid(*arrays[t], queries, queries, lmi_settings(p), seeds[t])
                outcomes[t][o.label] = _scored(o.label, grid, split.labels, epochs, None, float("nan"))
    return [[per_trial[o.label] for o in objectives] for per_trial in outcomes]


def _scored(label: str, grid: np.ndarray, labels: np.ndarray, steps: int, best: int | None, mi_bits: float) -> Outcome:
    if not np.isfinite(grid).all():
        return Outcome(label, None, "diverged", float("nan"), steps, best)
    value = auroc(grid, labels)
    return Outcome(label, grid, "ok" if np.isfinite(value) else "no_positives", value, steps, best, None, mi_bits)
