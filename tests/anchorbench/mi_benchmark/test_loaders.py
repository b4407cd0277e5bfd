"""IDX reader, IMDB npz reader, and the mirror's resolution order and error message."""

import gzip

import numpy as np
import pytest

from anchorbench import mirror
from anchorbench.mi_benchmark.imdb import load_imdb_bert
from anchorbench.mi_benchmark.mnist import load_mnist_digits, read_idx
from tests.anchorbench.mi_benchmark._helpers import idx_bytes, write_fake_mirror


@pytest.mark.parametrize("array", [np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
                                   np.array([-3, 0, 7], dtype=np.int8),
                                   (np.arange(6) - 100).astype(">i4").reshape(3, 2)])
def test_idx_round_trip_raw_and_gzip(tmp_path, array):
    (tmp_path / "a.idx").write_bytes(idx_bytes(array))
    # gzip is detected from the content: a .gz without its suffix still reads
    (tmp_path / "a.gz.idx").write_bytes(gzip.compress(idx_bytes(array)))
    for name in ("a.idx", "a.gz.idx"):
        got = read_idx(tmp_path / name)
        assert got.shape == array.shape and np.array_equal(got, array) and got.dtype.isnative


@pytest.mark.parametrize("payload", [b"\x01\x00\x08\x01" + b"\x00" * 8,  # first magic byte not 0
                                     b"\x00\x00\x42\x01" + b"\x00" * 8,  # unknown dtype code
                                     b"\x00\x00"])  # too short
def test_idx_bad_magic_raises(tmp_path, payload):
    (tmp_path / "bad").write_bytes(payload)
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(tmp_path / "bad")


def test_idx_size_mismatch_raises(tmp_path):
    (tmp_path / "short").write_bytes(idx_bytes(np.zeros((4, 5), np.uint8))[:-3])
    with pytest.raises(ValueError, match="holds"):
        read_idx(tmp_path / "short")


def test_loaders_on_a_fake_mirror(tmp_path):
    images, labels, emb, text_labels = write_fake_mirror(tmp_path / "m")
    got_images, got_labels = load_mnist_digits(str(tmp_path / "m"), digits=(0, 1))
    keep = labels < 2
    assert got_images.dtype == np.uint8 and got_images.shape == (keep.sum(), 28, 28)
    assert got_labels.dtype == np.int64 and np.array_equal(got_labels, labels[keep])
    assert np.array_equal(got_images, images[keep])
    got_emb, got_text = load_imdb_bert(str(tmp_path / "m"))
    assert got_emb.dtype == np.float32 and got_text.dtype == np.int64 and np.array_equal(got_emb, emb)


def test_imdb_npz_with_wrong_keys_says_so(tmp_path):
    (tmp_path / "imdb_bert").mkdir()
    np.savez(tmp_path / "imdb_bert" / "imdb_bert_finetuned.npz", x=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="embeddings"):
        load_imdb_bert(str(tmp_path))


def test_missing_mirror_names_the_env_var_and_source(tmp_path, monkeypatch):
    monkeypatch.setenv(mirror.ENV, str(tmp_path / "nowhere"))
    for rel, source in [("mnist/t10k-images-idx3-ubyte.gz", "yann.lecun.com"),
                        ("imdb_bert/imdb_bert_finetuned.npz", "kyungeun-lee/mibenchmark")]:
        with pytest.raises(FileNotFoundError) as err:
            mirror.require_file(rel)
        message = str(err.value)
        assert "ANCHORBENCH_DATA_MIRROR" in message and "data.mirror" in message
        assert rel in message and source in message


def test_mirror_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv(mirror.ENV, str(tmp_path / "from_env"))
    assert mirror.mirror_dir(str(tmp_path / "explicit")) == (tmp_path / "explicit").resolve()
    assert mirror.mirror_dir() == (tmp_path / "from_env").resolve()
    monkeypatch.delenv(mirror.ENV)
    beside = mirror.REPO.parent / "shared" / "data"
    assert mirror.mirror_dir() == (beside if beside.is_dir() else None)
    assert mirror.REPO == mirror.Path(mirror.__file__).resolve().parents[1]  # repo root, nothing hard-coded
