"""Theorem 2 / Proposition 1 numbers, oracle InfoNCE = K-way JSD, and InfoNCE tightness with n."""

import math

import pytest
import torch

from estimators import theory
from estimators.bounds import infonce_bound
from estimators.oracles import CorrelatedGaussian


def test_theorem2_numbers_from_the_paper():
    assert theory.kjsd_upper_bound(2.0, 4) == pytest.approx(2 - math.log2(1.75))
    assert round(theory.kjsd_upper_bound(2.0, 4), 2) == 1.19
    assert round(theory.kjsd_upper_bound(2.0, 64), 2) == 1.93
    assert theory.kjsd_upper_bound(2.0, 64) < theory.infonce_upper_bound(2.0, 64) == 2.0
    assert 0.99 < theory.kjsd_upper_bound(10.0, 2) <= 1.0  # large D: the log K cap
    # nats agree with bits
    assert theory.kjsd_upper_bound(2.0 * math.log(2), 4, base=math.e) == pytest.approx(
        theory.kjsd_upper_bound(2.0, 4) * math.log(2))


def test_oracle_infonce_matches_kway_jsd_and_respects_theorem2():
    mi, dim, K = 2.0 * math.log(2), 10, 16
    problem = CorrelatedGaussian.from_mi(mi, dim)
    x, y = problem.sample(4000, K, generator=torch.Generator().manual_seed(5))
    in_batch = infonce_bound(problem.log_ratio(x.double(), y.double()))  # [4000], K = B
    mean, se = in_batch.mean().item(), in_batch.std().item() / math.sqrt(in_batch.numel())
    kjsd, kjsd_se = theory.kway_jsd_gaussian(problem, K, tuples=64000, seed=6)
    assert abs(mean - kjsd) < 5 * math.hypot(se, kjsd_se)
    assert kjsd < theory.kjsd_upper_bound(mi, K, base=math.e) < mi


def test_infonce_gap_shrinks_with_batch_size():
    rows = theory.infonce_oracle_tightness(2.0, 4, [2, 8, 64, 512], batches=100, seed=0)
    gaps = [r["gap"] for r in rows]
    assert all(g > 0 for g in gaps)
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 0.35 * gaps[0]
