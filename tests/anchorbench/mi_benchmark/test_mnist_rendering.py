"""MNIST rendering: shapes, range, determinism, tiles carrying their class bits, resize == F.interpolate."""

import pytest
import torch
import torch.nn.functional as F

from anchorbench.mi_benchmark.domains import build_domain, mnist_renderer, tile
from tests.anchorbench.mi_benchmark._helpers import constant_digit_pool


def _domain(**kwargs):
    return build_domain("mnist", {"mnist": constant_digit_pool()}, **kwargs)


def test_shapes_range_and_determinism():
    domain = _domain(img_size=32)
    assert domain.dx == domain.dy == 32 * 32
    x, y = domain.sample(3, 5, 4.0, torch.Generator().manual_seed(7))
    x2, y2 = domain.sample(3, 5, 4.0, torch.Generator().manual_seed(7))
    x3, _ = domain.sample(3, 5, 4.0, torch.Generator().manual_seed(8))
    assert x.shape == y.shape == (3, 5, 1024) and x.dtype == torch.float32
    assert torch.equal(x, x2) and torch.equal(y, y2) and not torch.equal(x, x3)
    assert x.min() >= 0 and x.max() <= 1 and y.min() >= 0 and y.max() <= 1


def test_each_tile_shows_its_class_bit():
    domain = _domain(img_size=16)
    gen = torch.Generator().manual_seed(0)
    bits_x, bits_y = domain.class_bits(64, 6.0, gen)
    canvas = tile(domain.gather(domain.instances(bits_x, gen)), (2, 5))  # unresized [64, 56, 140]
    assert canvas.shape == (64, 56, 140)
    tile_means = canvas.view(64, 2, 28, 5, 28).mean((2, 4)).reshape(64, 10)  # tile k at (k // 5, k % 5)
    assert torch.equal(tile_means, bits_x.float())
    assert not torch.equal(bits_x, bits_y)  # at 6 of 10 bits the channel flips some bits


def test_grid_is_a_parameter():
    domain = _domain(sources=6, grid=(3, 2), img_size=8)
    assert domain.sample(1, 2, 3.0, torch.Generator().manual_seed(0))[0].shape == (1, 2, 64)
    with pytest.raises(ValueError, match="rows \\* cols"):
        _domain(sources=10, grid=(3, 3))


def test_resize_matches_interpolate():
    digits = torch.rand(4, 10, 28, 28)
    ref = F.interpolate(tile(digits, (2, 5))[:, None], size=(64, 64), mode="bicubic", align_corners=False,
                        antialias=True).clamp(0, 1).flatten(1)
    assert torch.allclose(mnist_renderer((2, 5), 64)(digits), ref, atol=1e-5)
    # all-ones canvas stays all ones: the resize preserves constants (rows of the matrices sum to 1)
    assert torch.allclose(mnist_renderer((2, 5), 64)(torch.ones(1, 10, 28, 28)), torch.ones(1, 4096), atol=1e-5)


def test_imdb_components_are_embeddings_of_their_class():
    labels = torch.arange(10) % 2
    emb = labels[:, None].float().expand(10, 768) + 0.01 * torch.arange(10)[:, None]  # class in the integer part
    domain = build_domain("imdb_bert", {"imdb_bert": {"embeddings": emb, "labels": labels}}, sources=10)
    gen = torch.Generator().manual_seed(1)
    x, y = domain.sample(2, 8, 10.0, gen)  # 10 of 10 bits: p = 0, Y's classes equal X's
    assert x.shape == (2, 8, 7680) and domain.dx == 7680
    cls_x, cls_y = x.view(16, 10, 768)[..., 0].floor(), y.view(16, 10, 768)[..., 0].floor()
    assert torch.equal(cls_x, cls_y)
    assert not torch.equal(x, y)  # but independent instances
