"""The CDP generator: exact H(C), independent uniform attributes, every attribute recoverable from the image."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import chisquare
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from anchorbench.ssl.cdp import (
    CDPSampler,
    crop_glyph,
    decode_colour_position,
    glyph_bank,
    shared_columns,
    sklearn_glyphs,
    true_mi_bits,
)


@pytest.fixture(scope="module")
def banks():
    digits = load_digits()
    bank = glyph_bank(sklearn_glyphs(digits.images), digits.target, [0, 1, 2, 3], 100, np.random.default_rng(0))
    return torch.from_numpy(bank[:, :60]), torch.from_numpy(bank[:, 60:])  # train / held-out glyph instances


def test_true_mi_is_two_bits_per_shared_attribute():
    assert [true_mi_bits(s) for s in ("c", "cd", "cdp", "dp")] == [2.0, 4.0, 6.0, 4.0]
    for bad in ("", "x", "cc", "aug"):
        with pytest.raises(ValueError, match="subset of the letters"):
            shared_columns(bad)


def test_images_shape_and_range(banks):
    images, attrs = CDPSampler(banks[0]).sample(64, torch.Generator().manual_seed(0))
    assert images.shape == (64, 3, 32, 32) and attrs.shape == (64, 3)
    assert images.min() >= 0 and images.max() <= 1 and images.max() > 0.9


def test_attributes_uniform_and_independent(banks):
    attrs = CDPSampler(banks[0]).attributes(64_000, torch.Generator().manual_seed(1)).numpy()
    cells = np.bincount((attrs[:, 0] * 4 + attrs[:, 1]) * 4 + attrs[:, 2], minlength=64)
    assert chisquare(cells).pvalue > 1e-3  # the 64 joint cells are uniform: uniform marginals and independence
    joint = cells / cells.sum()
    entropy_bits = -(joint * np.log2(joint)).sum()
    assert entropy_bits == pytest.approx(6.0, abs=0.01)


@pytest.mark.parametrize("shared", ["c", "cd", "cdp", "p"])
def test_pairs_share_exactly_the_class(banks, shared):
    n = 8000
    x1, x2, a1, a2 = CDPSampler(banks[0]).pairs(n, shared, torch.Generator().manual_seed(2))
    cols = shared_columns(shared)
    assert (a1[:, cols] == a2[:, cols]).all()
    # the class C takes 4^|shared| values, uniformly: H(C) = true_mi_bits
    cls = np.ravel_multi_index(a1[:, cols].numpy().T, [4] * len(cols))
    p = np.bincount(cls, minlength=4 ** len(cols)) / n
    assert -(p * np.log2(p)).sum() == pytest.approx(true_mi_bits(shared), abs=0.02)
    for k in set(range(3)) - set(cols):  # the other attributes are independent across views
        table = np.histogram2d(a1[:, k], a2[:, k], bins=4)[0] / n
        mi = (table * np.log(table / table.sum(1, keepdims=True) / table.sum(0, keepdims=True))).sum()
        assert mi < 0.01
    assert torch.equal(decode_colour_position(x2)[1], a2[:, 2])


def test_colour_and_position_are_read_back_exactly(banks):
    images, attrs = CDPSampler(banks[1]).sample(2000, torch.Generator().manual_seed(3))
    colour, position = decode_colour_position(images)
    assert torch.equal(colour, attrs[:, 0]) and torch.equal(position, attrs[:, 2])


def test_digit_is_recoverable_on_held_out_glyphs(banks):
    g = torch.Generator().manual_seed(4)
    train_x, train_a = CDPSampler(banks[0]).sample(2000, g)
    test_x, test_a = CDPSampler(banks[1]).sample(1000, g)  # glyph instances never seen in training

    def glyphs(x):
        return crop_glyph(x, decode_colour_position(x)[1]).reshape(len(x), -1).numpy()

    clf = LogisticRegression(max_iter=500).fit(glyphs(train_x), train_a[:, 1].numpy())
    assert clf.score(glyphs(test_x), test_a[:, 1].numpy()) > 0.9


def test_same_seed_same_images(banks):
    a = CDPSampler(banks[0]).pairs(32, "cd", torch.Generator().manual_seed(5))
    b = CDPSampler(banks[0]).pairs(32, "cd", torch.Generator().manual_seed(5))
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_bad_bank_shape():
    with pytest.raises(ValueError, match="glyph bank must have shape"):
        CDPSampler(torch.zeros(3, 5, 16, 16))
    assert math.isclose(true_mi_bits("cdp"), 6.0)
