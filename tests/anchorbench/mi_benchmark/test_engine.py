"""The batched engine: reproducible, grouping-independent, and divergence is isolated and recorded."""

import math

import numpy as np
import pytest
import torch

from anchorbench.mi_benchmark.domains import GaussianDomain
from anchorbench.mi_benchmark.engine import RunSpec, Schedule, train_group
from estimators.critics import CriticConfig

CRITIC = CriticConfig("joint", width=16, depth=1)
SCHED = Schedule((2.0, 4.0), 10)


def _train(runs, domain=None, **kw):
    return train_group(domain or GaussianDomain(dim=3), runs, CRITIC, SCHED, 16, 1e-3, progress=False, **kw)


def test_same_params_same_numbers():
    runs = [RunSpec("nwj", 0), RunSpec("infonce_anchor", 1)]
    a, b = _train(runs), _train(runs)
    assert np.array_equal(a.estimates_bits, b.estimates_bits)
    assert a.estimates_bits.shape == (20, 2) and np.isfinite(a.estimates_bits).all()
    assert a.true_mi_bits.tolist() == [2.0] * 10 + [4.0] * 10


def test_a_run_does_not_depend_on_its_group():
    alone = _train([RunSpec("infonce_anchor", 3)])
    grouped = _train([RunSpec("nwj", 0), RunSpec("infonce_anchor", 3), RunSpec("dv", 3)])
    np.testing.assert_allclose(grouped.estimates_bits[:, 1], alone.estimates_bits[:, 0], rtol=1e-4, atol=1e-5)


def test_estimators_with_the_same_seed_see_the_same_batches_and_init():
    res = _train([RunSpec("dv", 0), RunSpec("mine", 0)])
    # DV and MINE read out the same DV bound; identical first step means identical data and weights
    assert res.estimates_bits[0, 0] == res.estimates_bits[0, 1]


class PoisonedGaussian(GaussianDomain):
    """Seed 1's data turns to NaN from step 7 on."""

    def __init__(self):
        super().__init__(dim=3)
        self.calls = {}

    def sample(self, runs, batch, target_bits, generator):
        x, y = super().sample(runs, batch, target_bits, generator)
        seed = generator.initial_seed() - 10_000
        self.calls[seed] = self.calls.get(seed, 0) + 1
        if seed == 1 and self.calls[seed] > 7:
            x = torch.full_like(x, math.nan)
        return x, y


def test_divergence_is_recorded_and_isolated():
    runs = [RunSpec("nwj", 0), RunSpec("nwj", 1)]
    res = _train(runs, domain=PoisonedGaussian())
    assert res.diverged_step == [None, 7]
    assert np.isnan(res.estimates_bits[7:, 1]).all() and np.isfinite(res.estimates_bits[:7, 1]).all()
    clean = _train([RunSpec("nwj", 0)])
    np.testing.assert_allclose(res.estimates_bits[:, 0], clean.estimates_bits[:, 0], rtol=1e-4, atol=1e-5)


def test_level_callback_sees_each_level_and_can_stop():
    seen = []

    def stop_after_first(level, estimates):
        seen.append((level, estimates.shape))
        raise StopIteration

    try:
        _train([RunSpec("nwj", 0)], on_level_end=stop_after_first)
    except StopIteration:
        pass
    assert seen == [(0, (10, 1))]


@pytest.mark.gpu
def test_engine_runs_on_cuda():
    """Same group on the GPU: finite readouts, batched runs, data sampled on the device."""
    domain = GaussianDomain(dim=3, device="cuda")
    res = train_group(domain, [RunSpec("nwj", 0), RunSpec("infonce_anchor", 1)], CRITIC, SCHED, 16, 1e-3,
                      device="cuda", progress=False)
    assert res.estimates_bits.shape == (20, 2) and np.isfinite(res.estimates_bits).all()
    x, _ = domain.sample(2, 4, 2.0, torch.Generator(device="cuda").manual_seed(0))
    assert x.device.type == "cuda"


def test_bf16_autocast_keeps_estimates_within_005_bit_of_fp32():
    """Hidden layers in bf16, scores and losses in fp32: level means agree with fp32 training."""
    runs = [RunSpec(name, seed) for name in ("infonce_anchor", "dv", "js") for seed in (0, 1)]
    sched = Schedule((2.0, 4.0), 40)
    critic = CriticConfig("joint", width=32, depth=2)
    means = {}
    for bf16 in (False, True):
        res = train_group(GaussianDomain(dim=5), runs, critic, sched, 32, 1e-3, autocast_bf16=bf16, progress=False)
        means[bf16] = res.estimates_bits.reshape(2, 40, -1)[:, -10:].mean(1)  # [level, run]
    assert np.isfinite(means[True]).all()
    assert np.abs(means[True] - means[False]).max() < 0.05
