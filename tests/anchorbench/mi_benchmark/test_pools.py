"""IDX loading, the mirror's error message, the prepare/load round trip, and effective MI."""

import gzip
import json
import struct

import numpy as np
import pytest
import torch

from anchorbench import mirror
from anchorbench.io import write_manifest
from anchorbench.mi_benchmark.effective_mi import effective_truth, per_source_mi_bits
from anchorbench.mi_benchmark.mnist import read_idx
from anchorbench.mi_benchmark.pools import load_pools, prepare_pools, sha256
from tests.anchorbench.mi_benchmark._helpers import write_checksums


def _idx_bytes(array: np.ndarray) -> bytes:
    code = {np.uint8: 0x08}[array.dtype.type]
    return struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape) + array.tobytes()


@pytest.fixture
def fake_mirror(tmp_path):
    root = tmp_path / "mirror"
    (root / "mnist").mkdir(parents=True)
    (root / "imdb_bert").mkdir()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    labels = np.arange(30, dtype=np.uint8) % 3  # digits 0, 1, 2
    (root / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(images)))
    (root / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(labels)))
    emb = rng.standard_normal((400, 8)).astype(np.float32)
    lab = (np.arange(400) % 2).astype(np.int8)
    emb[:, 0] += 40 * lab  # far apart along the first axis: a confident classifier
    np.savez(root / "imdb_bert" / "imdb_bert_finetuned.npz", embeddings=emb, labels=lab,
             review_index=np.arange(400, dtype=np.int32))
    write_checksums(root)
    return root, images, labels


def test_idx_round_trip_raw_and_gzip(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(_idx_bytes(a))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(_idx_bytes(a)))
    assert np.array_equal(read_idx(tmp_path / "a.idx"), a) and np.array_equal(read_idx(tmp_path / "a.idx.gz"), a)
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(tmp_path / "bad.idx")


def test_missing_mirror_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv(mirror.ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="ANCHORBENCH_DATA_MIRROR") as err:
        mirror.require_file("mnist/t10k-images-idx3-ubyte.gz")
    assert "data.mirror" in str(err.value) and "yann.lecun.com" in str(err.value)


def test_prepare_and_load_round_trip(tmp_path, fake_mirror):
    root, images, labels = fake_mirror
    manifest = write_manifest(tmp_path / "pools", prepare_pools(tmp_path / "pools", str(root), ["mnist", "imdb_bert"]),
                              {})
    on_disk = json.loads((tmp_path / "pools" / "manifest.json").read_text())
    assert on_disk == json.loads(json.dumps(manifest))
    assert manifest["pools"]["mnist"]["per_class"] == [10, 10]  # digit 2 dropped
    assert manifest["files"]["mnist_pool.pt"] == sha256(tmp_path / "pools" / "mnist_pool.pt")
    src = manifest["pools"]["mnist"]["sources"][0]
    assert src["sha256"] == sha256(root / src["path"])
    pools = load_pools(tmp_path / "pools")
    truth = effective_truth(pools["imdb_bert"], sources=10, levels_bits=[2.0, 10.0])
    assert truth == pytest.approx({2.0: 2.0, 10.0: 10.0}, abs=0.05)  # separable classes: nominal truth
    keep = labels < 2
    assert torch.equal(pools["mnist"]["images"], torch.from_numpy(images[keep]))
    # a corrupted pool is caught by its hash
    (tmp_path / "pools" / "mnist_pool.pt").write_bytes(b"corrupt")
    with pytest.raises(ValueError, match="manifest hash"):
        load_pools(tmp_path / "pools")


def test_prepare_rejects_unknown_domains(tmp_path):
    with pytest.raises(ValueError, match="mi_benchmark_data.domains must be among"):
        prepare_pools(tmp_path, None, ["cifar"])


def test_effective_mi_equals_nominal_when_separable_and_drops_with_overlap():
    labels = np.repeat([0, 1], 500)
    perfect = per_source_mi_bits(labels.astype(float), labels, p=0.1)
    assert perfect == pytest.approx(1 - (-(0.1 * np.log2(0.1) + 0.9 * np.log2(0.9))), abs=1e-9)
    blurry = per_source_mi_bits(np.where(labels == 1, 0.8, 0.2), labels, p=0.1)
    assert blurry < perfect - 0.2


def test_real_mirror_digit_counts():
    if mirror.mirror_dir() is None or not (mirror.mirror_dir() / "mnist").exists():
        pytest.skip("no public-data mirror here")
    from anchorbench.mi_benchmark.mnist import load_mnist_digits

    images, labels = load_mnist_digits()
    assert images.shape == (2115, 28, 28) and np.bincount(labels).tolist() == [980, 1135]


def test_the_data_stage_writes_byte_identical_files_in_two_fresh_runs(fake_mirror, tmp_path, monkeypatch):
    """dvc.lock must not change on a fresh clone: every pool file hashes the same run after run, whatever
    temporary name it was written under (torch.save used to embed that name in the archive)."""
    root, _, _ = fake_mirror
    digests = []
    for run in ("a", "b"):
        monkeypatch.setenv("ANCHORBENCH_OUTPUTS", str(tmp_path / run))  # fresh output tree, fresh temp names
        out = tmp_path / run / "data" / "mi_benchmark"
        prepare_pools(out, str(root), ["mnist", "imdb_bert"])
        digests.append({p.name: sha256(p) for p in sorted(out.iterdir())})
    assert digests[0] == digests[1] and len(digests[0]) == 2


def test_the_effective_truth_is_solved_to_convergence(fake_mirror):
    """The class model is fitted to its unique optimum, so the effective truth does not depend on where a
    machine's BLAS rounding stopped the solver: a perturbation far below float32 precision moves nothing."""
    root, _, _ = fake_mirror
    pool = {k: torch.from_numpy(v) for k, v in np.load(root / "imdb_bert" / "imdb_bert_finetuned.npz").items()}
    base = effective_truth(pool, 4, [2.0])
    nudged = dict(pool, embeddings=pool["embeddings"].double() * (1 + 1e-12))
    assert effective_truth(nudged, 4, [2.0]) == pytest.approx(base, abs=1e-9)
