"""prepare_pools / load_pools round trip on a fake mirror; the manifest's hashes match the files."""

import hashlib
import json

import numpy as np
import pytest
import torch

from anchorbench.io import write_manifest
from anchorbench.mi_benchmark.pools import load_pools, prepare_pools
from tests.anchorbench.mi_benchmark._helpers import write_fake_mirror


def _hash(path, algorithm="sha256"):
    return hashlib.new(algorithm, path.read_bytes()).hexdigest()


def test_round_trip_and_manifest(tmp_path):
    root = tmp_path / "mirror"
    images, labels, emb, text_labels = write_fake_mirror(root)
    out = tmp_path / "pools"
    manifest = write_manifest(out, prepare_pools(out, str(root), ["gaussian", "mnist", "imdb_bert"]), {})
    pools_info = manifest["pools"]
    assert set(pools_info) == {"mnist", "imdb_bert"}  # gaussian needs no pool
    assert json.loads((out / "manifest.json").read_text()) == json.loads(json.dumps(manifest))
    assert not list(out.glob("*.tmp"))  # atomic writes leave no temporaries
    for name, entry in pools_info.items():
        assert manifest["files"][entry["file"]] == _hash(out / entry["file"])
        for src in entry["sources"]:
            assert src["sha256"] == _hash(root / src["path"]) and src["md5"] == _hash(root / src["path"], "md5")
    keep = labels < 2
    assert pools_info["mnist"]["per_class"] == np.bincount(labels[keep]).tolist()
    assert pools_info["mnist"]["shape"] == [int(keep.sum()), 28, 28]
    assert pools_info["imdb_bert"]["per_class"] == [200, 200] and pools_info["imdb_bert"]["shape"] == [400, 8]
    pools = load_pools(out)
    assert pools["mnist"]["images"].dtype == torch.uint8
    assert torch.equal(pools["mnist"]["images"], torch.from_numpy(images[keep]))
    assert torch.equal(pools["mnist"]["labels"], torch.from_numpy(labels[keep].astype(np.int64)))
    assert torch.equal(pools["imdb_bert"]["embeddings"].float(), torch.from_numpy(emb))


def test_corrupt_pool_and_missing_manifest(tmp_path):
    root = tmp_path / "mirror"
    write_fake_mirror(root)
    out = tmp_path / "pools"
    write_manifest(out, prepare_pools(out, str(root), ["mnist"]), {})
    (out / "mnist_pool.pt").write_bytes(b"corrupt")
    with pytest.raises(ValueError, match="manifest hash"):
        load_pools(out)
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        load_pools(tmp_path / "empty")


def test_unknown_domain_and_missing_mirror(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="data.domains must be among"):
        prepare_pools(tmp_path, None, ["cifar"])
    monkeypatch.setenv("ANCHORBENCH_DATA_MIRROR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="ANCHORBENCH_DATA_MIRROR"):
        prepare_pools(tmp_path / "out", None, ["mnist"])
