"""Variational bounds and critic losses of Table 1, as pure functions of one score matrix.

Every function maps ``scores[..., B, B]`` (``scores[..., i, j] = c(x_i, y_j)``, positives on the
diagonal) to a tensor of shape ``[...]`` in nats, one value per independent run.

Critic conventions (what the critic converges to at the optimum, r = p(x,y) / (p(x) p(y))):
- DV, InfoNCE, MINE, JS (f-GAN), SMILE, chi2/DRF, f-DIME: c -> log r (InfoNCE and DV only up to
  an additive constant, per y for InfoNCE and globally for DV).
- NWJ uses the classic e^(c-1) form, I >= E_p[c] - E_q[e^(c-1)], which is tight at c = 1 + log r.
  The same bound written with e^c (KLIEP, used by f-DIME) is tight at c = log r. So a NWJ-trained
  critic's log density ratio is c - 1, and NWJ evaluated on a log-ratio critic c is NWJ(c + 1).
"""

from __future__ import annotations

import math

import torch.nn.functional as F

from estimators._shapes import Tensor, diag, offdiag_logmeanexp, offdiag_mean


def plugin(log_ratio: Tensor) -> Tensor:
    """Type-3 plug-in MI estimate: mean over positive pairs of log r, ``[..., B, B] -> [...]``."""
    return diag(log_ratio).mean(-1)


def dv_bound(scores: Tensor) -> Tensor:
    """Donsker-Varadhan: E_p[c] - log E_q[e^c] (q: the off-diagonal pairs)."""
    return plugin(scores) - offdiag_logmeanexp(scores)


def nwj_bound(scores: Tensor) -> Tensor:
    """NWJ / f-divergence bound in the e^(c-1) convention: E_p[c] - E_q[e^(c-1)]."""
    return plugin(scores) - offdiag_logmeanexp(scores - 1.0).exp()


def infonce_bound(scores: Tensor) -> Tensor:
    """InfoNCE: log B + mean_i [c_ii - log sum_j e^(c_ij)]; never exceeds log B."""
    B = scores.shape[-1]
    return math.log(B) + (diag(scores) - scores.logsumexp(-1)).mean(-1)


def js_fgan_bound(scores: Tensor) -> Tensor:
    """f-GAN Jensen-Shannon objective -E_p[sp(-c)] - E_q[sp(c)]; its optimum is c = log r."""
    return -F.softplus(-diag(scores)).mean(-1) - offdiag_mean(F.softplus(scores))


def smile_bound(scores: Tensor, tau: float) -> Tensor:
    """SMILE: DV with the partition term's scores clipped to [-tau, tau]."""
    return plugin(scores) - offdiag_logmeanexp(scores.clamp(-tau, tau))


def chi2_loss(scores: Tensor) -> Tensor:
    """PCC / D-RFC (chi2 DRF) loss -2 E_p[e^c] + E_q[e^(2c)]; minimised at c = log r."""
    return -2.0 * diag(scores).exp().mean(-1) + offdiag_mean((2.0 * scores).exp())


def fdime_loss(scores: Tensor, divergence: str) -> Tensor:
    """f-DIME losses (Letizia et al. 2024), each minimised at c = log r.

    - ``kl``: KL-DIME, the NWJ/KLIEP bound in the e^c convention, -E_p[c] + E_q[e^c] - 1.
    - ``gan``: GAN-DIME, the f-GAN JS loss E_p[sp(-c)] + E_q[sp(c)].
    - ``hd``: HD-DIME (squared Hellinger), E_p[e^(-c/2)] + E_q[e^(c/2)] - 2.
    """
    if divergence == "kl":
        return -plugin(scores) + offdiag_logmeanexp(scores).exp() - 1.0
    if divergence == "gan":
        return -js_fgan_bound(scores)
    if divergence == "hd":
        return (-0.5 * diag(scores)).exp().mean(-1) + offdiag_mean((0.5 * scores).exp()) - 2.0
    raise ValueError(f"f-DIME divergence must be one of 'kl', 'gan', 'hd', got {divergence!r}")


def mine_loss(scores: Tensor, log_moving_average: Tensor) -> Tensor:
    """MINE loss with a bias-corrected partition gradient.

    ``log_moving_average`` (shape ``[...]``, no gradient) is the log of an exponential moving
    average of E_q[e^c]. The gradient of the partition term is grad E_q[e^c] / ma instead of the
    biased grad log E_q[e^c] of a single batch; the value equals the DV loss when the batch
    partition equals the moving average.
    """
    log_partition = offdiag_logmeanexp(scores)
    ma = log_moving_average.detach()
    return -plugin(scores) + (log_partition - ma).exp() + ma - 1.0
