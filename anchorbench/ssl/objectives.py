"""The SSL objectives (paper Sec. 4.3, App. G.3) as registry estimators, and their cosine critic.

An objective is an estimator label (``anchorbench.sections.Label``). The paper's five:

| paper          | label                                                  | K     | nu      | ratio |
|----------------|--------------------------------------------------------|-------|---------|-------|
| InfoNCE        | scoring_rule(nu=0)                                     | B - 1 | 0       | PMI   |
| InfoNCE-anchor | infonce_anchor                                         | B - 1 | ssl.nu  | PMI   |
| JS             | infonce_anchor(K=1)                                    | 1     | ssl.nu  | PMI   |
| Spherical      | spherical(parametrization=pd)                          | B - 1 | ssl.nu  | PD    |
| chi2           | binary_rule(alpha=2, parametrization=pd, rule=power)   | (1)   | (1)     | PD    |

K = B - 1 wherever the label leaves it unset (seed 001's 2K - 1 candidates); the asymmetric binary rules take
neither K nor nu (Table 5). The critic on projected features z1 = proj(view 1), z2 = proj(view 2) (L2-normalised,
``[B, P]``): PMI: c(x_i, y_j) = cos(z1_i, z2_j) / tau, r = e^c;  PD: r = softplus(cos(z1_i, z2_j) / tau) + 1e-6
> 0, the softplus the estimators' PD critics use (``estimators.critics``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

import estimators
from estimators import Estimator

Tensor = torch.Tensor


def build_objective(objective: str, batch_size: int, nu: float | None = None) -> Estimator:
    """The registry estimator of label ``objective`` for in-batch scores ``[B, B]`` with ``B = batch_size``:
    K = B - 1 unless the label sets K, and ``nu`` where it takes nu and the label leaves it unset."""
    name, hparams = estimators.parse_label(objective)
    takes = estimators.hyperparameters(name)
    if "K" in takes and "K" not in hparams:
        hparams["K"] = batch_size - 1
    if nu is not None and "nu" in takes and "nu" not in hparams:
        hparams["nu"] = nu
    return estimators.build(name, **hparams)


def in_training_cap(est: Estimator) -> float | None:
    """log K (nats) for an InfoNCE-type readout (the log rule without anchor: the bound log K - loss), else None."""
    if est.name == "scoring_rule" and est.hparams["rule"] == "log" and est.hparams["nu"] == 0:
        return math.log(est.hparams["K"])
    return None


def cosine_scores(z1: Tensor, z2: Tensor, tau: float, parametrization: str) -> Tensor:
    """Critic scores ``[B, B]``, ``scores[i, j] = c(view1_i, view2_j)``, from projections ``[B, P]``."""
    cos = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T
    return F.softplus(cos / tau) + 1e-6 if parametrization == "pd" else cos / tau
