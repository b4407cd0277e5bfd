"""Shared fixtures: deterministic torch, a GPU skip marker, a public-data mirror (real or fake)."""

import warnings

import pytest
import torch

from anchorbench.mi_benchmark.pools import SOURCE_FILES
from anchorbench.mirror import mirror_dir
from tests.anchorbench.mi_benchmark._helpers import write_fake_mirror


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def data_mirror(tmp_path_factory):
    """The public-data mirror where this machine has one, else a small fake one with its layout
    (random digits and embeddings), so the pipeline tests run everywhere, CI included."""
    real = mirror_dir()
    if real is not None and all((real / rel).is_file() for rels in SOURCE_FILES.values() for rel in rels):
        return real
    # recorded in the warnings summary: these pipeline tests ran on random data, not the real files
    warnings.warn(f"public-data mirror not found (looked in {real}): pipeline tests use a small fake mirror "
                  "with the same layout", UserWarning, stacklevel=1)
    root = tmp_path_factory.mktemp("fake-mirror")
    write_fake_mirror(root, n_mnist=90, n_text=400)
    return root
