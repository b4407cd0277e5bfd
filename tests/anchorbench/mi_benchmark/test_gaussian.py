"""Gaussian domain: per-coordinate correlation rho, transforms on both sides, true MI = target."""

import math

import pytest
import torch

from anchorbench.mi_benchmark.domains import TRANSFORMS, GaussianDomain, build_domain
from estimators.oracles import CorrelatedGaussian


@pytest.mark.parametrize("target", [2.0, 10.0])
def test_correlation_per_coordinate_is_rho(target):
    domain = GaussianDomain(dim=10)
    x, y = domain.sample(2, 20_000, target, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (2, 20_000, 10) and x.dtype == torch.float32
    rho = CorrelatedGaussian.from_mi(target * math.log(2), 10).rho  # the oracle's rho (bits -> nats)
    xs, ys = x.reshape(-1, 10), y.reshape(-1, 10)
    corr = ((xs - xs.mean(0)) * (ys - ys.mean(0))).mean(0) / (xs.std(0) * ys.std(0))
    # SE of a sample correlation ~ (1 - rho^2) / sqrt(n)
    assert (corr - rho).abs().max().item() < 5 * (1 - rho ** 2) / math.sqrt(40_000) + 1e-3
    assert domain.true_mi_bits(target) == target
    assert CorrelatedGaussian.from_mi(target * math.log(2), 10).mi / math.log(2) == pytest.approx(target)


@pytest.mark.parametrize("transform", ["cubic", "half_cube", "asinh"])
def test_transform_is_applied_to_both_sides(transform):
    raw = GaussianDomain(dim=4).sample(1, 500, 4.0, torch.Generator().manual_seed(3))
    out = GaussianDomain(dim=4, transform=transform).sample(1, 500, 4.0, torch.Generator().manual_seed(3))
    f = TRANSFORMS[transform]
    for r, o in zip(raw, out):
        assert torch.equal(o, f(r))
        assert not torch.allclose(o, r)  # it did something, on x and on y


@pytest.mark.parametrize("transform", ["identity", "cubic", "half_cube", "asinh"])
def test_transforms_are_strictly_increasing_bijections(transform):
    t = torch.linspace(-6, 6, 2001, dtype=torch.float64)
    ft = TRANSFORMS[transform](t)
    assert (ft.diff() > 0).all()  # strictly increasing, hence injective and MI-preserving
    assert (TRANSFORMS[transform](-t) == -ft).all()  # odd: onto R (unbounded in both directions)


def test_build_domain_rejects_unknowns():
    with pytest.raises(ValueError, match="gaussian.*imdb_bert.*mnist"):
        build_domain("cifar10", None)
    with pytest.raises(ValueError, match="transform must be one of"):
        GaussianDomain(transform="square")
    assert build_domain("gaussian", None, dim=3).dx == 3
