"""Domains: shapes, ranges, determinism, Gaussian correlation, MNIST tiles carry their class bit."""

import math

import pytest
import torch

from anchorbench.mi_benchmark.domains import ClassChannelDomain, GaussianDomain, build_domain, grid_for, tile
from estimators.oracles import rho_for_mi


@pytest.mark.parametrize("transform", ["identity", "cubic", "half_cube", "asinh"])
def test_gaussian_correlation_and_monotone_transforms(transform):
    domain = GaussianDomain(dim=10, transform=transform)
    x, y = domain.sample(4, 5000, 4.0, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 5000, 10)
    raw_x, raw_y = GaussianDomain(dim=10).sample(4, 5000, 4.0, torch.Generator().manual_seed(0))
    # the same draws, transformed elementwise by a strictly increasing map (ranks preserved)
    for raw, out in ((raw_x, x), (raw_y, y)):
        order = raw.argsort(1)
        assert (out.gather(1, order).diff(dim=1) >= 0).all()
    rho = torch.corrcoef(torch.stack([raw_x[..., 0].flatten(), raw_y[..., 0].flatten()]))[0, 1].item()
    assert rho == pytest.approx(rho_for_mi(4.0 * math.log(2), 10), abs=0.02)


def test_bad_domain_settings():
    with pytest.raises(ValueError, match="gaussian transform must be one of"):
        GaussianDomain(transform="square")
    with pytest.raises(ValueError, match="domain must be one of"):
        build_domain("cifar")
    with pytest.raises(ValueError, match="run the data stage"):
        build_domain("mnist", pools=None)


def _toy_mnist_pool():
    """Class-0 digits all 0, class-1 digits all 1: a tile's mean reveals its class bit."""
    labels = torch.tensor([0, 1, 0, 1, 1])
    images = (labels[:, None, None] * 255).expand(5, 28, 28).to(torch.uint8)
    return {"mnist": {"images": images, "labels": labels}}


def test_mnist_tiles_carry_the_class_bits():
    domain = build_domain("mnist", _toy_mnist_pool(), sources=10, img_size=16)
    gen = torch.Generator().manual_seed(0)
    bits, _ = domain.class_bits(8, 6.0, gen)
    digits = domain.items[domain.instances(bits, gen)]  # [8, 10, 28, 28]
    canvas = tile(digits, grid_for(10))  # [8, 56, 140]
    assert canvas.shape == (8, 56, 140)
    tile_means = canvas.view(8, 2, 28, 5, 28).mean((2, 4)).reshape(8, 10)
    assert torch.equal(tile_means.round().long(), bits)


def test_mnist_sample_shape_range_and_determinism():
    domain = build_domain("mnist", _toy_mnist_pool(), sources=10, img_size=16)
    a = domain.sample(3, 4, 4.0, torch.Generator().manual_seed(1))
    b = domain.sample(3, 4, 4.0, torch.Generator().manual_seed(1))
    assert a[0].shape == (3, 4, 256) and torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert a[0].min() >= 0 and a[0].max() <= 1


def test_imdb_concatenates_source_embeddings():
    labels = torch.tensor([0, 1, 0, 1])
    emb = torch.stack([torch.full((6,), float(c)) for c in labels])  # class c -> all-c vector
    domain = build_domain("imdb_bert", {"imdb_bert": {"embeddings": emb, "labels": labels}}, sources=3)
    x, y = domain.sample(2, 5, 3.0, torch.Generator().manual_seed(0))  # 3 bits of 3 sources: p = 0, y == x bits
    assert x.shape == (2, 5, 18) and domain.dx == 18
    assert torch.equal(x.view(10, 3, 6)[..., 0], y.view(10, 3, 6)[..., 0])


def test_class_channel_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        ClassChannelDomain("toy", torch.zeros(3, 2), torch.tensor([0, 0, 0]), 2, lambda t: t, 2)


def test_separable_resize_equals_interpolate():
    import torch.nn.functional as F

    from anchorbench.mi_benchmark.domains import mnist_renderer

    digits = torch.rand(3, 10, 28, 28)
    ref = F.interpolate(tile(digits, (2, 5))[:, None], size=(64, 64), mode="bicubic", align_corners=False,
                        antialias=True).clamp(0, 1).flatten(1)
    assert torch.allclose(mnist_renderer((2, 5), 64)(digits), ref, atol=1e-5)


def test_sample_many_stacks_one_batch_per_generator():
    domain = build_domain("mnist", _toy_mnist_pool(), sources=10, img_size=16)
    gens = [torch.Generator().manual_seed(s) for s in (3, 4)]
    x, y = domain.sample_many(5, 4.0, gens)
    x3, y3 = domain.sample(1, 5, 4.0, torch.Generator().manual_seed(3))
    assert x.shape == (2, 5, 256) and torch.equal(x[0], x3[0]) and torch.equal(y[0], y3[0])
