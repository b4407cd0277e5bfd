"""The binary symmetric channel: exact crossover, and the sampler's empirical MI equals ds (1 - H_b(p))."""


import numpy as np
import pytest
import torch

from anchorbench.mi_benchmark.channel import binary_entropy, bsc_crossover, class_channel_mi_bits
from anchorbench.mi_benchmark.domains import ClassChannelDomain


@pytest.mark.parametrize("target,p_ref", [(2, 0.243), (4, 0.146), (6, 0.079), (8, 0.031), (10, 0.0)])
def test_crossover_is_exact(target, p_ref):
    p = bsc_crossover(10, target)
    assert class_channel_mi_bits(10, p) == pytest.approx(target, abs=1e-9)
    assert p == pytest.approx(p_ref, abs=1e-3)  # benchmarks.md A.4 (their grid search)


@pytest.mark.parametrize("bad", [-0.1, 10.5])
def test_crossover_rejects_impossible_targets(bad):
    with pytest.raises(ValueError, match=r"target MI must be in \[0, 10\]"):
        bsc_crossover(10, bad)


def test_binary_entropy():
    assert binary_entropy(0.5) == 1.0 and binary_entropy(0.0) == 0.0
    assert binary_entropy(0.11) == pytest.approx(0.4999, abs=1e-3)


def _plugin_mi_bits(a: np.ndarray, b: np.ndarray) -> float:
    joint = np.histogram2d(a, b, bins=2)[0] / len(a)
    pa, pb = joint.sum(1), joint.sum(0)
    nz = joint > 0
    return float((joint[nz] * np.log2(joint[nz] / np.outer(pa, pb)[nz])).sum())


@pytest.mark.parametrize("target", [2.0, 6.0])
def test_sampled_class_bits_carry_the_true_mi(target):
    items, labels = torch.zeros(4, 1), torch.tensor([0, 0, 1, 1])
    domain = ClassChannelDomain("toy", items, labels, 10, lambda t: t.flatten(1), 10)
    cx, cy = domain.class_bits(200_000, target, torch.Generator().manual_seed(0))
    per_source = [_plugin_mi_bits(cx[:, k].numpy(), cy[:, k].numpy()) for k in range(10)]
    # ds independent sources: the MI adds up; plug-in SE at n = 2e5 is ~0.003 bit per source
    assert sum(per_source) == pytest.approx(target, abs=0.05)
    assert domain.true_mi_bits(target) == pytest.approx(target)
    assert abs(cx.float().mean().item() - 0.5) < 0.01
