"""The five SSL objectives of the paper (Sec. 4.3, App. G.3) as registry estimators, and their critic.

| objective      | scoring rule         | K     | nu  | ratio | registry name + hparams                              |
|----------------|----------------------|-------|-----|-------|------------------------------------------------------|
| infonce        | log                  | B - 1 | 0   | PMI   | scoring_rule(rule=log, nu=0, K=B-1)                  |
| infonce_anchor | log                  | B - 1 | nu  | PMI   | infonce_anchor(nu=nu)         (K defaults to B - 1)  |
| js             | log                  | 1     | nu  | PMI   | infonce_anchor(nu=nu, K=1)                           |
| spherical      | spherical            | B - 1 | nu  | PD    | spherical(nu=nu, parametrization=pd)                 |
| chi2           | asymmetric power a=2 | (1)   | (1) | PD    | binary_rule(rule=power, alpha=2, parametrization=pd) |

The asymmetric binary rules do not depend on K or nu (Table 5), so chi2's K = 1, nu = 1 is implicit.
The critic on projected features z1 = proj(view 1), z2 = proj(view 2) (L2-normalised, ``[B, P]``):
PMI: c(x_i, y_j) = cos(z1_i, z2_j) / tau, r = e^c;  PD: r = softplus(cos(z1_i, z2_j) / tau) + 1e-6 > 0,
the softplus the estimators' PD critics use (``estimators.critics``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

import estimators
from estimators import Estimator

Tensor = torch.Tensor

OBJECTIVES: dict[str, tuple[str, dict]] = {  # objective -> (registry name, fixed hparams)
    "infonce": ("scoring_rule", {"rule": "log", "nu": 0.0}),
    "infonce_anchor": ("infonce_anchor", {}),
    "js": ("infonce_anchor", {"K": 1}),
    "spherical": ("spherical", {"parametrization": "pd"}),
    "chi2": ("binary_rule", {"rule": "power", "alpha": 2.0, "parametrization": "pd"}),
}
_USES_NU = ("infonce_anchor", "js", "spherical")


def build_objective(objective: str, batch_size: int, nu: float = 1.0) -> Estimator:
    """The registry estimator of ``objective`` for in-batch scores ``[B, B]`` with ``B = batch_size``."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown SSL objective {objective!r}; allowed: {list(OBJECTIVES)}")
    name, hparams = OBJECTIVES[objective]
    hparams = dict(hparams)
    if objective == "infonce":
        hparams["K"] = batch_size - 1
    if objective in _USES_NU:
        hparams["nu"] = nu
    return estimators.build(name, **hparams)


def cosine_scores(z1: Tensor, z2: Tensor, tau: float, parametrization: str) -> Tensor:
    """Critic scores ``[B, B]``, ``scores[i, j] = c(view1_i, view2_j)``, from projections ``[B, P]``."""
    cos = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T
    return F.softplus(cos / tau) + 1e-6 if parametrization == "pd" else cos / tau
