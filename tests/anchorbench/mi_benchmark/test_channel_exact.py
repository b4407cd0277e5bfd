"""The binary symmetric channel: the crossover is solved exactly, and sampled class bits carry d (1 - H_b(p)) bits."""

import math

import numpy as np
import pytest
import torch

from anchorbench.mi_benchmark.channel import binary_entropy, bsc_crossover, class_channel_mi_bits
from anchorbench.mi_benchmark.domains import ClassChannelDomain

# p for ds = 10 at 2/4/6/8/10 bits, from the reference's 0.001 grid (docs benchmarks.md A.4)
REFERENCE_P = {2: 0.243, 4: 0.146, 6: 0.079, 8: 0.031, 10: 0.0}


@pytest.mark.parametrize("target", sorted(REFERENCE_P))
def test_crossover_hits_the_target_exactly(target):
    p = bsc_crossover(10, target)
    assert 0.0 <= p <= 0.5
    assert abs(class_channel_mi_bits(10, p) - target) <= 1e-9
    assert p == pytest.approx(REFERENCE_P[target], abs=6e-4)  # the grid is 1e-3 wide


def test_crossover_edges_and_monotonicity():
    assert bsc_crossover(10, 10) == 0.0 and bsc_crossover(10, 0) == 0.5
    ps = [bsc_crossover(10, t) for t in np.linspace(0.5, 9.5, 19)]
    assert all(a > b for a, b in zip(ps, ps[1:]))  # more MI, less noise
    assert class_channel_mi_bits(3, bsc_crossover(3, 1.234)) == pytest.approx(1.234, abs=1e-9)


@pytest.mark.parametrize("bad", [-0.1, 10.0001, 11, float("nan")])
def test_crossover_rejects_targets_outside_0_ds(bad):
    with pytest.raises(ValueError):
        bsc_crossover(10, bad)


def test_binary_entropy_in_bits():
    assert binary_entropy(0.5) == 1.0 and binary_entropy(0.0) == 0.0 and binary_entropy(1.0) == 0.0
    assert binary_entropy(0.25) == pytest.approx(-(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75)), abs=1e-15)
    assert binary_entropy(0.3) == pytest.approx(binary_entropy(0.7), abs=1e-15)


def _plugin_mi_and_se(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Plug-in MI (bits) of two binary samples, and its delta-method standard error std(log r) / sqrt(n)."""
    joint = np.zeros((2, 2))
    np.add.at(joint, (a, b), 1.0)
    joint /= len(a)
    log_r = np.log2(joint / np.outer(joint.sum(1), joint.sum(0)))
    per_sample = log_r[a, b]
    return float(per_sample.mean()), float(per_sample.std() / math.sqrt(len(a)))


@pytest.mark.parametrize("target", [2.0, 6.0, 9.0])
def test_sampled_class_bits_carry_d_times_one_minus_hb(target):
    pool = torch.zeros(4, 1)
    domain = ClassChannelDomain("toy", pool, torch.tensor([0, 1, 0, 1]), 10, lambda t: t.flatten(1), 10)
    n = 100_000
    cx, cy = domain.class_bits(n, target, torch.Generator().manual_seed(0))
    assert cx.shape == cy.shape == (n, 10) and set(cx.unique().tolist()) <= {0, 1}
    est, var = 0.0, 0.0
    for k in range(10):  # independent sources: the MI adds up, and so do the variances
        mi, se = _plugin_mi_and_se(cx[:, k].numpy(), cy[:, k].numpy())
        est, var = est + mi, var + se ** 2
    bias = 10 / (2 * n * math.log(2))  # plug-in bias of a 2x2 table, (2-1)(2-1) / (2 n ln 2) per source
    assert abs(est - bias - target) < 4 * math.sqrt(var) + 1e-3
    assert abs(cx.float().mean().item() - 0.5) < 0.005  # fair source bits
    assert domain.true_mi_bits(target) == pytest.approx(target, abs=1e-9)
