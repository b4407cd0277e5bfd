"""Shared fixtures: deterministic torch, a GPU skip marker, a public-data mirror (real or fake)."""

import pytest
import torch

from anchorbench.data.mirror import mirror_dir
from anchorbench.data.prepare import SOURCE_FILES
from tests.anchorbench.data._helpers import write_fake_mirror


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
    root = tmp_path_factory.mktemp("fake-mirror")
    write_fake_mirror(root, n_mnist=90, n_text=400)
    return root
