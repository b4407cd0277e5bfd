"""SimCLR augmentations: shapes, ranges, determinism under a seed, and each transform doing its job."""

import torch

from anchorbench.ssl.augment import Augment, colour_jitter, grey, random_grayscale, random_resized_crop


def _images(n=16, seed=0):
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_shape_range_and_change():
    x = _images()
    y = Augment()(x, torch.Generator().manual_seed(1))
    assert y.shape == x.shape and y.dtype == x.dtype
    assert y.min() >= 0 and y.max() <= 1
    assert (y - x).abs().mean() > 0.01


def test_deterministic_under_a_seed():
    x = _images()
    a = Augment()(x, torch.Generator().manual_seed(7))
    b = Augment()(x, torch.Generator().manual_seed(7))
    c = Augment()(x, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_full_crop_without_flip_is_identity():
    x = _images(4)
    y = random_resized_crop(x, torch.Generator().manual_seed(0), scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=0.0)
    assert torch.allclose(y, x, atol=1e-5)


def test_flip_mirrors():
    x = _images(4)
    y = random_resized_crop(x, torch.Generator().manual_seed(0), scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=1.0)
    assert torch.allclose(y, x.flip(-1), atol=1e-5)


def test_grayscale_all_or_nothing():
    x = _images(8)
    y = random_grayscale(x, torch.Generator().manual_seed(0), p=1.0)
    assert torch.allclose(y[:, 0], y[:, 1]) and torch.allclose(y[:, 1], y[:, 2])
    assert torch.allclose(y[:, :1], grey(x))
    assert torch.equal(random_grayscale(x, torch.Generator().manual_seed(0), p=0.0), x)


def test_zero_jitter_is_identity_and_hue_keeps_grey():
    x = _images(8)
    assert torch.allclose(colour_jitter(x, torch.Generator().manual_seed(0), (0, 0, 0, 0), p=1.0), x, atol=1e-5)
    g = grey(x).expand_as(x).contiguous()  # grey images have no hue: a hue rotation leaves them unchanged
    y = colour_jitter(g, torch.Generator().manual_seed(0), (0, 0, 0, 0.5), p=1.0)
    assert torch.allclose(y, g, atol=1e-4)
    y = colour_jitter(x, torch.Generator().manual_seed(0), (0.8, 0.8, 0.8, 0.2), p=1.0)
    assert y.min() >= 0 and y.max() <= 1 and not torch.allclose(y, x)
