"""Checks against the real public-data mirror; skipped cleanly where there is none."""

import numpy as np
import pytest
import torch

from anchorbench import mirror


def _need(rel: str):
    try:
        return mirror.require_file(rel)
    except FileNotFoundError:
        pytest.skip(f"no public-data mirror with {rel} here")


def test_mnist_digit_counts():
    _need("mnist/t10k-images-idx3-ubyte.gz")
    _need("mnist/t10k-labels-idx1-ubyte.gz")
    from anchorbench.mi_benchmark.mnist import load_mnist_digits

    images, labels = load_mnist_digits()
    assert images.shape == (2115, 28, 28) and np.bincount(labels).tolist() == [980, 1135]
    assert images.dtype == np.uint8 and images.max() == 255


def test_imdb_shape_and_balance():
    _need("imdb_bert/imdb_bert_finetuned.npz")
    from anchorbench.mi_benchmark.imdb import load_imdb_bert

    emb, labels = load_imdb_bert()
    assert emb.shape == (25000, 768) and np.bincount(labels).tolist() == [12500, 12500]
    assert emb.min() >= -1.0 and emb.max() <= 1.0  # BERT pooler output (tanh)


@pytest.mark.slow
def test_imdb_effective_mi_is_below_nominal():
    _need("imdb_bert/imdb_bert_finetuned.npz")
    from anchorbench.mi_benchmark.effective_mi import effective_mi_report
    from anchorbench.mi_benchmark.imdb import load_imdb_bert

    emb, labels = load_imdb_bert()
    report = effective_mi_report(emb, labels, 10, [10.0], seed=0, pairs=50_000)
    assert report["heldout_accuracy"] > 0.98
    assert 0.85 < report["per_source_bits"][10.0] < 0.92  # published runs read ~0.88 bit per source


def test_mnist_domain_from_real_digits():
    _need("mnist/t10k-images-idx3-ubyte.gz")
    from anchorbench.mi_benchmark.domains import build_domain
    from anchorbench.mi_benchmark.mnist import load_mnist_digits

    images, labels = load_mnist_digits()
    pools = {"mnist": {"images": torch.from_numpy(images), "labels": torch.from_numpy(labels)}}
    x, y = build_domain("mnist", pools).sample(2, 8, 6.0, torch.Generator().manual_seed(0))
    assert x.shape == (2, 8, 4096) and 0 <= x.min() and x.max() <= 1
