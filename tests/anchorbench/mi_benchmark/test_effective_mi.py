"""Effective MI of a class channel: nominal when classes are separable, lower when they overlap."""

import numpy as np
import pytest
import torch

from anchorbench.mi_benchmark.channel import bsc_crossover, class_channel_mi_bits
from anchorbench.mi_benchmark.effective_mi import effective_mi_report, effective_truth, per_source_mi_bits


def _two_blobs(shift: float, n: int = 1000, dim: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    features = rng.standard_normal((n, dim)).astype(np.float32)
    features[:, 0] += shift * labels
    return features, labels


@pytest.mark.parametrize("target", [2.0, 10.0])
def test_separable_classes_give_the_nominal_mi(target):
    features, labels = _two_blobs(shift=60.0)
    got = effective_mi_report(features, labels, 10, [target], seed=0, pairs=20_000)["total_bits"][target]
    assert got == pytest.approx(target, abs=0.02)
    pool = {"embeddings": torch.from_numpy(features), "labels": torch.from_numpy(labels)}
    assert effective_truth(pool, 10, [target])[target] == pytest.approx(target, abs=0.02)


def test_exact_posteriors_give_the_nominal_mi():
    labels = np.repeat([0, 1], 300)
    p = bsc_crossover(1, 0.4)
    assert per_source_mi_bits(labels.astype(float), labels, p, pairs=5000) == pytest.approx(0.4, abs=1e-9)


def test_overlapping_classes_give_less():
    features, labels = _two_blobs(shift=2.0)  # Bayes accuracy ~84%
    report = effective_mi_report(features, labels, 10, [2.0, 10.0], seed=0, pairs=20_000)
    assert 0.75 < report["heldout_accuracy"] < 0.92
    for level in (2.0, 10.0):
        assert 0.0 < report["total_bits"][level] < level - 0.5 * level * 0.5  # far below nominal
        assert report["total_bits"][level] == pytest.approx(10 * report["per_source_bits"][level])
    # the effective MI is still monotone in the nominal level
    assert report["total_bits"][2.0] < report["total_bits"][10.0]
    assert class_channel_mi_bits(10, bsc_crossover(10, 2.0)) == pytest.approx(2.0)
