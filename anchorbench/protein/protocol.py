"""One trial of the protein protocol: fit every objective on the trial's training pairs, score the query grid.

Every objective of a trial trains on the same split with the same seed (same initial weights where shapes agree,
same batches), batched by the fit core; objectives with another critic width (a tuned InfoNCE-anchor) train in
their own call. The score of a query pair is the fitted PMI in nats (``FitResult.pmi_grid``); the LMI baseline
goes through ``latentmi`` (anchorbench.protein.lmi).
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

TUNED = "infonce_anchor"  # the objective the protein_tune stage tunes (nu and width)


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


def objectives_for(p: ProteinParams, tuned: dict | None) -> list[Objective]:
    """The configured objectives (labels, or "lmi"); ``tuned`` ({"nu": .., "width": ..}) replaces InfoNCE-anchor's
    nu and width."""
    out = []
    for label in p.objectives:
        name, hparams = (LMI, {}) if label == LMI else estimators.parse_label(label)
        width = p.width
        if label == TUNED and tuned:
            hparams, width = {**hparams, "nu": float(tuned["nu"])}, int(tuned["width"])
        out.append(Objective(label, name, hparams, width))
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


def run_trial(ps: ProteinSet, split: TrialSplit, objectives: list[Objective], p: ProteinParams, seed: int,
              settings: TrainSettings | None = None) -> list[Outcome]:
    """Fit every objective on ``split``'s training pairs (validation pairs for early stopping), score its grid."""
    settings = settings or train_settings(p)
    x_train, y_train, x_val, y_val = split.arrays(ps)
    queries = split.queries(ps)  # [h, 1024]: the grid's sources and targets
    outcomes: dict[str, Outcome] = {}
    critics = [o for o in objectives if o.estimator != LMI]
    for width, group in itertools.groupby(sorted(critics, key=lambda o: o.width), key=lambda o: o.width):
        group = list(group)
        runs = [FitRun(0, o.estimator, o.hparams, seed) for o in group]
        results = fit_runs([PairedSplit(x_train, y_train, x_val, y_val)], runs, critic_spec(p, width), settings)
        for o, r in zip(group, results):
            if r.diverged:
                outcomes[o.label] = Outcome(o.label, None, "diverged", float("nan"), r.stopped_step, None,
                                            r.diverged_step)
                continue
            with warnings.catch_warnings():  # plain InfoNCE's PMI is only defined up to C(y): that is the point here
                warnings.simplefilter("ignore")
                grid = r.pmi_grid(queries, queries)
            outcomes[o.label] = _scored(o.label, grid, split.labels, r.stopped_step, r.best_step, r.mi_bits)
    for o in objectives:
        if o.estimator == LMI:
            grid, epochs = lmi_pmi_grid(x_train, y_train, x_val, y_val, queries, queries, lmi_settings(p), seed)
            outcomes[o.label] = _scored(o.label, grid, split.labels, epochs, None, float("nan"))
    return [outcomes[o.label] for o in objectives]


def _scored(label: str, grid: np.ndarray, labels: np.ndarray, steps: int, best: int | None, mi_bits: float) -> Outcome:
    if not np.isfinite(grid).all():
        return Outcome(label, None, "diverged", float("nan"), steps, best)
    value = auroc(grid, labels)
    return Outcome(label, grid, "ok" if np.isfinite(value) else "no_positives", value, steps, best, None, mi_bits)
