"""Proper scoring rules and the density-ratio objectives they induce (paper Sec. 3.4, App. D-E).

Symmetric (multiclass) rules score a class posterior eta over C classes: lambda_z(eta) is the loss
when the true class is z. Here eta is given by its unnormalised log-probabilities ``logp[..., C]``
(eta = softmax(logp)), which keeps every rule numerically stable in log space.

The tensorized objective (anchor class 0 with prior weight nu, tuple classes 1..K):

    L = K/(K+nu) * E_{x_1 ~ q1, x_2..K ~ q0}[lambda_1(eta)] + nu/(K+nu) * E_{x_1..K ~ q0}[lambda_0(eta)],
    eta = [nu, r_1, ..., r_K] / (nu + sum_i r_i).

With the log rule this is InfoNCE-anchor (Eq. 4); nu = 0 drops the anchor (InfoNCE-type, Table 7).
Asymmetric binary rules (Table 5) act on r directly and do not depend on K or nu.

All objectives take ``log_ratio[..., B, B]``: log r of every pair, i.e. the critic scores in the PMI
parametrization (r = e^c) or log of the scores in the PD parametrization (r = c > 0).
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from estimators._shapes import Tensor, cyclic_columns, diag, offdiag_mean

# ---------------------------------------------------------------- symmetric rules: lambda_z(eta)


def _log_eta(logp: Tensor) -> Tensor:
    return logp - logp.logsumexp(-1, keepdim=True)


def log_score(logp: Tensor, z: int, alpha: float | None = None) -> Tensor:
    """Log score: -log eta_z."""
    return -_log_eta(logp)[..., z]


def power_score(logp: Tensor, z: int, alpha: float) -> Tensor:
    """Power score (Brier at alpha = 2): sum_j eta_j^alpha - alpha/(alpha-1) eta_z^(alpha-1)."""
    log_eta = _log_eta(logp)
    return (alpha * log_eta).exp().sum(-1) - alpha / (alpha - 1.0) * ((alpha - 1.0) * log_eta[..., z]).exp()


def pseudo_spherical_score(logp: Tensor, z: int, alpha: float) -> Tensor:
    """Pseudo-spherical score (spherical at alpha = 2): -(eta_z / ||eta||_alpha)^(alpha-1).

    0-homogeneous in eta, so it is evaluated on the unnormalised vector directly.
    """
    log_norm = (alpha * logp).logsumexp(-1) / alpha
    return -((alpha - 1.0) * (logp[..., z] - log_norm)).exp()


def inverse_log_score(logp: Tensor, z: int, alpha: float | None = None) -> Tensor:
    """Symmetric inverse-log score: sum_j log eta_j + 1/eta_z (the constant -C dropped)."""
    log_eta = _log_eta(logp)
    return log_eta.sum(-1) + (-log_eta[..., z]).exp()


SYMMETRIC_RULES: dict[str, Callable[..., Tensor]] = {
    "log": log_score,
    "power": power_score,
    "pseudo_spherical": pseudo_spherical_score,
    "inverse_log": inverse_log_score,
}


def check_rule(rule: str, alpha: float | None, rules: dict) -> None:
    if rule not in rules:
        raise ValueError(f"rule must be one of {sorted(rules)}, got {rule!r}")
    if rule in ("power", "pseudo_spherical"):
        if alpha is None or not math.isfinite(alpha):
            raise ValueError(f"rule {rule!r} needs a finite alpha")
        if rule == "pseudo_spherical" and alpha <= 1:
            raise ValueError(f"pseudo_spherical needs alpha > 1, got {alpha}")
        if rule == "power" and (alpha <= 0 or alpha == 1):
            # Phi = sum eta^alpha / (alpha - 1) is strictly convex (the rule strictly proper) iff alpha > 0, alpha != 1
            raise ValueError(f"power rule needs alpha > 0 and alpha != 1 (alpha = 2 is Brier), got {alpha}")


# ---------------------------------------------------------------- in-batch tensorized objective


def default_k(B: int, nu: float) -> int:
    """Tuple size K: B - 1 with an anchor (the marginal term needs K negatives per row), else B."""
    return B - 1 if nu > 0 else B


def check_k(K: int, B: int, nu: float) -> None:
    k_max = default_k(B, nu)
    if not (isinstance(K, int) and 1 <= K <= k_max):
        raise ValueError(f"K must be an integer in [1, {k_max}] for batch size B = {B} and nu = {nu}, got {K!r}")


def tensorized_loss(log_ratio: Tensor, rule: str = "log", alpha: float | None = None,
                    nu: float = 1.0, K: int | None = None) -> Tensor:
    """In-batch tensorized DRE loss with an anchor (App. B generalised to any symmetric rule).

    Row i gives one joint tuple, the positive ``log_ratio[i, i]`` and K-1 negatives
    ``log_ratio[i, i+1..i+K-1]`` (cyclic; for K = B-1 this masks exactly ``[i, i-1]`` as the
    paper's pseudocode does), and one marginal tuple of K negatives ``log_ratio[i, i+1..i+K]``.
    Both are prefixed by the anchor logit log nu. Returns the loss ``[...]``.
    """
    B = log_ratio.shape[-1]
    K = default_k(B, nu) if K is None else K
    check_k(K, B, nu)
    score = SYMMETRIC_RULES[rule]
    joint = cyclic_columns(log_ratio, 0, K)  # [..., B, K], positive in column 0
    if nu == 0:
        return score(joint, 0, alpha).mean(-1)
    anchor = torch.full_like(joint[..., :1], math.log(nu))  # [..., B, 1]
    marginal = cyclic_columns(log_ratio, 1, K + 1)  # [..., B, K], all negatives
    joint_term = score(torch.cat([anchor, joint], -1), 1, alpha).mean(-1)
    marginal_term = score(torch.cat([anchor, marginal], -1), 0, alpha).mean(-1)
    return K / (K + nu) * joint_term + nu / (K + nu) * marginal_term


# ---------------------------------------------------------------- asymmetric binary rules (Table 5)


def binary_rule_loss(log_ratio: Tensor, rule: str = "log", alpha: float | None = None) -> Tensor:
    """Binary DRE loss E_q1[.] + E_q0[.] of an asymmetric rule, minimised pointwise at r = q1/q0.

    - ``log`` (KLIEP / NWJ with e^c): E_q1[-log r] + E_q0[r]
    - ``power`` alpha (alpha = 2: LSIF / chi2): E_q1[r^(alpha-1)]/(1-alpha) + E_q0[r^alpha]/alpha
    - ``inverse_log``: E_q1[1/r] + E_q0[log r]
    q1: the diagonal (joint pairs); q0: the off-diagonal pairs.
    """
    pos = diag(log_ratio)
    if rule == "log":
        return -pos.mean(-1) + offdiag_mean(log_ratio.exp())
    if rule == "power":
        return ((alpha - 1.0) * pos).exp().mean(-1) / (1.0 - alpha) + offdiag_mean((alpha * log_ratio).exp()) / alpha
    if rule == "inverse_log":
        return (-pos).exp().mean(-1) + offdiag_mean(log_ratio)
    raise ValueError(f"binary rule must be one of 'log', 'power', 'inverse_log', got {rule!r}")


BINARY_RULES = ("log", "power", "inverse_log")
