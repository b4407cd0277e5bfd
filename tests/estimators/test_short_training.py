"""Short CPU training on a 10-d Gaussian: the anchor reads the truth, InfoNCE stays under log B."""

import math

import numpy as np
import pytest

from anchorbench.mi_benchmark.domains import GaussianDomain
from anchorbench.mi_benchmark.engine import RunSpec, Schedule, train_group
from estimators.critics import CriticConfig

pytestmark = pytest.mark.slow
CRITIC = CriticConfig("joint", width=64, depth=1)


def test_infonce_anchor_reads_4_bits_within_half_a_bit():
    steps = 1000
    res = train_group(GaussianDomain(dim=10), [RunSpec("infonce_anchor", s) for s in range(2)], CRITIC,
                      Schedule((4.0,), steps), 64, 1e-3, progress=False)
    tail = res.estimates_bits[-steps // 4:].mean(0)
    assert np.all(np.abs(tail - 4.0) < 0.5), tail


def test_infonce_at_8_bits_stays_below_log_b():
    B, steps = 64, 800
    res = train_group(GaussianDomain(dim=10), [RunSpec("infonce", 0), RunSpec("infonce_anchor", 0)], CRITIC,
                      Schedule((8.0,), steps), B, 1e-3, progress=False)
    infonce, anchor = res.estimates_bits[:, 0], res.estimates_bits[:, 1]
    assert infonce.max() <= math.log2(B) + 1e-6
    # capped: log2(64) = 6 bits against a truth of 8, and it sits visibly below the cap
    assert infonce[-steps // 4:].mean() < math.log2(B) - 0.2
    # the anchor is not capped by log B, and it gets closer to the truth than InfoNCE
    assert anchor[-steps // 4:].mean() > math.log2(B)
    assert abs(anchor[-steps // 4:].mean() - 8.0) < abs(infonce[-steps // 4:].mean() - 8.0)
