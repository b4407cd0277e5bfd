"""Post-training MI (Lee et al.): freeze the encoder, fit a fresh critic on (view 1, view 2) features.

The critic trains with a batch larger than pretraining's, so an InfoNCE readout is capped at
log(post batch) instead of the in-training cap log K; the shared fit core (``anchorbench.fit``) does the
training and the early stopping on validation pairs, and reads the MI on test pairs early stopping never saw
(the best of several checks on the same pairs would be biased upwards).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from anchorbench.fit import FitRun, PairedSplit, TrainSettings, fit_runs
from anchorbench.ssl.probe import features

Pairs = tuple[torch.Tensor, torch.Tensor]  # views ([n, 3, H, W], [n, 3, H, W]) in [0, 1], row i with row i


def post_training_mi(encoder: nn.Module, train: Pairs, val: Pairs, test: Pairs, estimators: list[str], critic: dict,
                     settings: TrainSettings, seed: int = 0) -> dict[str, float]:
    """MI in bits per estimator (NaN when the critic diverged) between the frozen features of paired views: the
    critic fits ``train``, stops early on ``val`` and is read on ``test``."""
    x_train, y_train, x_val, y_val, x_test, y_test = (features(encoder, v).cpu() for v in (*train, *val, *test))
    # a channel dead on every training image (ReLU before the pool) is constant: it carries nothing, drop it
    keep_x, keep_y = x_train.std(0) > 1e-6, y_train.std(0) > 1e-6
    split = PairedSplit(x_train[:, keep_x], y_train[:, keep_y], x_val[:, keep_x], y_val[:, keep_y],
                        x_test[:, keep_x], y_test[:, keep_y])
    runs = [FitRun(data=0, estimator=name, hparams={}, seed=seed) for name in estimators]
    results = fit_runs([split], runs, critic=critic, settings=settings)
    return {name: (math.nan if r.diverged else float(r.mi_bits)) for name, r in zip(estimators, results)}
