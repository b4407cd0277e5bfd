"""The SSL objectives (paper Sec. 4.3, App. G.3) as registry estimators, their cosine critic, and the caps of their
in-training readouts.

An objective is an estimator label (``anchorbench.sections.Label``). The paper's five:

| paper          | label                                                  | K     | nu      | ratio |
|----------------|--------------------------------------------------------|-------|---------|-------|
| InfoNCE        | scoring_rule(nu=0)                                     | B - 1 | 0       | PMI   |
| InfoNCE-anchor | infonce_anchor                                         | B - 1 | ssl.nu  | PMI   |
| JS             | infonce_anchor(K=1)                                    | 1     | ssl.nu  | PMI   |
| Spherical      | spherical(parametrization=pd)                          | B - 1 | ssl.nu  | PD    |
| chi2           | binary_rule(alpha=2, parametrization=pd, rule=power)   | (1)   | (1)     | PD    |

K = B - 1 wherever the label leaves it unset (seed 001's 2K - 1 candidates); the asymmetric binary rules take
neither K nor nu (Table 5). The critic (:class:`CosineCritic`) scores L2-normalised projections z1 = proj(view 1),
z2 = proj(view 2) (``[B, P]``) by their cosine; see it for the PMI and PD forms.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats as sps
from torch import nn

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


def infonce_candidates(est: Estimator, batch_size: int) -> int | None:
    """K of an InfoNCE-type readout at batch size B (the bound log K - loss <= log K), else None: the registry's
    ``infonce`` (K = B) and the log rule without anchor (its K, default B)."""
    if est.name == "infonce":
        return batch_size
    if est.name == "scoring_rule" and est.hparams["rule"] == "log" and est.hparams["nu"] == 0:
        return est.hparams["K"] or batch_size
    return None


class CosineCritic(nn.Module):
    """Scores ``[B, B]``, ``scores[i, j] = c(view1_i, view2_j)``, from projections ``z1, z2 [B, P]``; cos_ij is
    their cosine.

    PMI: c_ij = cos_ij / tau, r = e^c, with the paper's fixed tau: r spans [e^(-1/tau), e^(1/tau)] (148 at
    tau = 0.2), which holds every same-class ratio 2^H(C) <= 64 of CDP, and InfoNCE is blind to a scale of r anyway.

    PD: r_ij = softplus(e^a cos_ij + b) + 1e-6 > 0, with a scale e^a (a initialised at log(1 / tau)) and a shift b
    (initialised at 0) trained with the encoder. App. G.3 says only "PD factorization"; this form is this project's
    choice. The fixed softplus(cos / tau) is bounded by softplus(1 / tau) (5.0 at tau = 0.2, 10.0 at 0.1), below the
    true ratio of a same-class pair (2^H(C) = 4, 16, 64 on CDP, 0 for a pair of different classes), so spherical and
    chi2 could not represent it at H(C) >= 4. With the scale and the shift the critic spans (0, inf): e^a + b = 64 at
    cos = 1 with b << 0 gives r = 64 for a same-class pair and r ~ 0 for the rest, on the same normalised
    projections as the PMI objectives (at step 0 it is the fixed-tau critic). The two scalars get their own Adam
    learning rate (``ssl.pd_critic_lr``): at the encoder's 1e-3 they would move by ~1e-3 per step, too slow to
    reach log 64 in a CPU run's 80 steps.
    """

    def __init__(self, tau: float, parametrization: str) -> None:
        super().__init__()
        self.tau, self.parametrization = tau, parametrization
        if parametrization == "pd":
            self.log_scale = nn.Parameter(torch.tensor(math.log(1 / tau)))
            self.shift = nn.Parameter(torch.tensor(0.0))

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        cos = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T  # [B, B]
        if self.parametrization != "pd":
            return cos / self.tau
        return F.softplus(self.log_scale.exp() * cos + self.shift) + 1e-6

    @torch.no_grad()
    def max_log_ratio(self) -> float:
        """The largest log r (nats) the critic can output now (at cos = 1): 1 / tau (PMI), log r(1) (PD)."""
        if self.parametrization != "pd":
            return 1 / self.tau
        one = torch.ones(1, 1, device=self.shift.device)
        return float(self.forward(one, one).log())


def readout_cap(est: Estimator, critic: CosineCritic, batch_size: int) -> tuple[float, str]:
    """The largest value (nats) of ``est``'s in-training readout, and what it is: log K for InfoNCE (the bound log K
    - loss), else the critic's largest log ratio (the plug-in readout is a mean of log r_ii); for a PD critic that
    is the one it has at the end of training."""
    K = infonce_candidates(est, batch_size)
    if K is not None:
        return math.log(K), f"log K (K = {K})"
    return critic.max_log_ratio(), "1/tau" if critic.parametrization != "pd" else "log r(cos = 1) at the end"


def infonce_ceiling_bits(K: int, h_bits: float) -> float:
    """The reachable InfoNCE readout on same-class pairs (bits): log2 K - E[log2(1 + N)], N ~ Bin(K - 1, 2^-H).

    The optimal critic is the true ratio, 2^H for a pair of one class and 0 otherwise, so a negative of the
    positive's class scores like the positive: the loss is E[log(1 + N)] with N the negatives of that class among
    the K - 1. It tends to H as K grows (log2 63 = 5.98 but 5.17 reachable at K = 63, H = 6)."""
    if not math.isfinite(h_bits):
        return math.nan
    n = np.arange(K)
    return math.log2(K) - float(sps.binom.pmf(n, K - 1, 2.0 ** -h_bits) @ np.log2(1 + n))
