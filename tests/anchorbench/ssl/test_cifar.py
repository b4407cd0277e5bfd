"""CIFAR-100 loader on tiny pickles in the standard cifar-100-python format."""

import pickle

import numpy as np
import pytest

from anchorbench.ssl.cifar import cifar100_classes, load_cifar100


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "cifar-100-python"
    root.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 12), ("test", 5)):
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"fine_labels": list(rng.integers(0, 100, n)), b"coarse_labels": [0] * n,
                 b"filenames": [b"x.png"] * n, b"batch_label": split.encode()}
        (root / split).write_bytes(pickle.dumps(batch))
    (root / "meta").write_bytes(pickle.dumps({b"fine_label_names": [f"c{i}".encode() for i in range(100)],
                                              b"coarse_label_names": [b"a"] * 20}))
    return tmp_path


def test_loads_images_in_channel_order(mirror):
    images, labels = load_cifar100("train", str(mirror))
    raw = pickle.loads((mirror / "cifar-100-python/train").read_bytes())
    assert images.shape == (12, 3, 32, 32) and images.dtype == np.uint8 and labels.dtype == np.int64
    assert np.array_equal(images[3, 1].ravel(), raw[b"data"][3, 1024:2048])  # rows are R(1024) G(1024) B(1024)
    assert labels.tolist() == [int(v) for v in raw[b"fine_labels"]]
    assert load_cifar100("test", str(mirror))[0].shape == (5, 3, 32, 32)
    assert cifar100_classes(str(mirror))[:2] == ["c0", "c1"]


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="cifar-100-python/train.*cifar-100-python.tar.gz"):
        load_cifar100("train", str(tmp_path))


def test_bad_split_and_bad_content(mirror):
    with pytest.raises(ValueError, match="split must be"):
        load_cifar100("val", str(mirror))
    (mirror / "cifar-100-python/test").write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8),
                                                                 b"fine_labels": [0, 1]}))
    with pytest.raises(ValueError, match="not N x 3072"):
        load_cifar100("test", str(mirror))
