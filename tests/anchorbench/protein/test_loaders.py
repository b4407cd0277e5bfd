"""Real-data loaders on tiny files in the real formats: per-protein.h5 and OmniPath TSV/CSV exports."""

import h5py
import numpy as np
import pandas as pd
import pytest

from anchorbench.protein import loaders
from anchorbench.protein.loaders import load_real, read_pairs


def _mirror(root, table_suffix: str = ".tsv", dim: int = 8):
    (root / "protein").mkdir(parents=True)
    rng = np.random.default_rng(0)
    with h5py.File(root / loaders.EMBEDDINGS, "w") as h5:
        for acc in ["P1", "P2", "P3", "Q9"]:  # Q9 takes part in no pair
            h5.create_dataset(acc, data=rng.standard_normal(dim).astype(np.float16))
    table = pd.DataFrame({"source": ["P1", "P1", "P2", "P1", "COMPLEX:P1_P2", "P3"],
                          "target": ["P2", "P2", "P3", "P3", "P3", "X0"],  # a duplicate, a complex, no embedding
                          "is_directed": [1] * 6})
    for name, stem in loaders.TABLES.items():
        path = root / (stem + table_suffix)
        table.to_csv(path, sep="\t" if table_suffix == ".tsv" else ",", index=False)
    return root


@pytest.mark.parametrize("suffix", [".tsv", ".csv"])
def test_real_loader_reads_both_formats_and_drops_what_it_cannot_use(tmp_path, suffix):
    mirror = _mirror(tmp_path, suffix)
    ps = load_real("kinase", str(mirror))
    assert list(ps.accessions) == ["P1", "P2", "P3"]
    pairs = set(zip(ps.accessions[ps.src], ps.accessions[ps.dst]))
    assert pairs == {("P1", "P2"), ("P2", "P3"), ("P1", "P3")}  # duplicate, complex and X0 rows gone
    assert ps.embeddings.shape == (3, 8) and ps.embeddings.dtype == np.float32
    with h5py.File(mirror / loaders.EMBEDDINGS) as h5:
        np.testing.assert_array_equal(ps.embeddings[1], np.asarray(h5["P2"], np.float32))
    assert ps.truth is None


def test_missing_file_names_it_and_its_source(tmp_path):
    (tmp_path / "protein").mkdir()
    with pytest.raises(FileNotFoundError, match=r"protein/per-protein\.h5.*UP000005640_9606"):
        load_real("ligand", str(tmp_path))
    mirror = _mirror(tmp_path / "m")
    (mirror / (loaders.TABLES["ligand"] + ".tsv")).unlink()
    with pytest.raises(FileNotFoundError, match=r"omnipath_ligrec_extra\.tsv.*LigRecExtra"):
        load_real("ligand", str(mirror))


def test_table_without_source_target_columns_is_named(tmp_path):
    path = tmp_path / "t.tsv"
    pd.DataFrame({"enzyme": ["P1"], "substrate": ["P2"]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"t\.tsv.*'source' and 'target'.*missing \['source', 'target'\]"):
        read_pairs(path)
