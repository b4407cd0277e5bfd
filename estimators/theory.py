"""Theory helpers: Theorem 2 / Proposition 1 of the main paper and InfoNCE tightness with n.

Theorem 2: D_InfoNCE <= D_KJS(q1, q0) <= min{log K, D - log((e^D - 1)/K + 1)} with D = KL(q1 || q0);
Proposition 1 is the weaker D_InfoNCE <= min{log K, D}. Functions take and return ``base``-units
(2 for bits, e for nats).
"""

from __future__ import annotations

import math

import torch

from estimators.bounds import infonce_bound
from estimators.oracles import CorrelatedGaussian


def kjsd_upper_bound(divergence: float, K: int, base: float = 2.0) -> float:
    """Theorem 2's bound on the K-way JSD (and on InfoNCE's value) given D = KL(q1 || q0)."""
    if K < 1 or divergence < 0:
        raise ValueError(f"need K >= 1 and divergence >= 0, got K={K}, divergence={divergence}")
    log = lambda v: math.log(v) / math.log(base)  # noqa: E731
    return min(log(K), divergence - log((base ** divergence - 1.0) / K + 1.0))


def infonce_upper_bound(divergence: float, K: int, base: float = 2.0) -> float:
    """Proposition 1: D_InfoNCE <= min{log K, D}."""
    return min(math.log(K) / math.log(base), divergence)


def kway_jsd_gaussian(problem: CorrelatedGaussian, K: int, tuples: int, seed: int = 0) -> tuple[float, float]:
    """Monte-Carlo K-way JSD E_y[D_KJS(p(x|y), p(x))] in nats, from fresh independent tuples.

    For each tuple: y with x_1 ~ p(x|y) and x_2..x_K ~ p(x); the summand is log(K r_1 / sum_i r_i)
    with the true ratio r. Returns (mean, standard error).
    """
    gen = torch.Generator().manual_seed(seed)
    x1, y = problem.sample(tuples, 1, generator=gen)  # [T, 1, d]
    xneg, _ = problem.sample(tuples, K - 1, generator=gen)  # [T, K-1, d]
    xs = torch.cat([x1, xneg], 1)  # [T, K, d]
    log_r = problem.log_ratio(xs, y)[..., 0]  # [T, K]: r(x_k, y)
    values = math.log(K) + log_r[:, 0] - log_r.logsumexp(-1)
    return values.mean().item(), values.std().item() / math.sqrt(tuples)


def infonce_oracle_tightness(mi_nats: float, dim: int, batch_sizes: list[int], batches: int = 200,
                             seed: int = 0) -> list[dict]:
    """InfoNCE with the optimal critic log r for batch sizes n (note 003): I >= log n - L_n.

    Returns one row per n: the mean in-batch InfoNCE value (nats), its standard error, the true MI
    and the gap I - value, which shrinks as n grows.
    """
    problem = CorrelatedGaussian.from_mi(mi_nats, dim)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for n in batch_sizes:
        x, y = problem.sample(batches, n, generator=gen)  # [batches, n, d]
        values = infonce_bound(problem.log_ratio(x, y))  # [batches]
        mean = values.mean().item()
        rows.append({"n": n, "infonce": mean, "stderr": values.std().item() / math.sqrt(batches),
                     "true_mi": problem.mi, "gap": problem.mi - mean})
    return rows
