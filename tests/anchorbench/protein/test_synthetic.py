"""The synthetic stand-in: sizes of the real sets, determinism (byte-identical files), a sane oracle."""

import numpy as np
import pytest

from anchorbench.io import sha256, write_manifest
from anchorbench.protein import synthetic
from anchorbench.protein.config import ProteinDataParams
from anchorbench.protein.dataset import load, save
from anchorbench.protein.evaluate import auroc
from anchorbench.protein.prepare import build
from anchorbench.protein.split import outer_split
from tests.anchorbench.protein._helpers import small_ligand


@pytest.fixture(scope="module")
def full():
    return {name: synthetic.generate(name) for name in ("kinase", "ligand")}


@pytest.mark.parametrize("name,proteins,pairs", [("kinase", 5150, 22229), ("ligand", 1702, 4496)])
def test_sized_like_the_real_sets(full, name, proteins, pairs):
    ps = full[name]
    assert ps.n_proteins == proteins and ps.n_pairs == pairs
    assert ps.embeddings.shape == (proteins, 1024) and ps.embeddings.dtype == np.float32
    assert len(np.unique(np.r_[ps.src, ps.dst])) == proteins  # every protein takes part in a pair
    assert len(np.unique(ps.src * proteins + ps.dst)) == pairs  # distinct pairs
    t = ps.truth
    assert t.source_role[ps.src].all() and t.target_role[ps.dst].all()  # the roles are respected
    if name == "ligand":
        assert not (t.source_role & t.target_role).any()


def test_oracle_auroc_is_a_sane_ceiling_and_kinase_is_harder(full):
    values = {}
    for name, ps in full.items():
        splits = [outer_split(ps, 170, 0, t) for t in range(4)]
        values[name] = np.mean([auroc(ps.truth.log_weight(s.held_out, s.held_out), s.labels) for s in splits])
        # a random score is at chance level on the same queries
        rng = np.random.default_rng(0)
        assert abs(np.mean([auroc(rng.random(s.labels.shape), s.labels) for s in splits]) - 0.5) < 0.1
    assert 0.85 < values["kinase"] < values["ligand"] < 1.0


def test_same_params_give_byte_identical_files(tmp_path):
    p = ProteinDataParams(source="synthetic", scale=0.12, datasets=["ligand"])
    def manifest(params, folder):
        save(build(params, "ligand"), folder)
        return write_manifest(folder, {}, params.model_dump(mode="json"))

    manifests = [manifest(p, tmp_path / run) for run in ("a", "b")]
    assert manifests[0]["files"] == manifests[1]["files"]
    assert set(manifests[0]["files"]) == {"ligand/proteins.csv", "ligand/embeddings.npy", "ligand/pairs.csv",
                                          "ligand/truth.npz"}
    for rel, digest in manifests[0]["files"].items():
        assert sha256(tmp_path / "b" / rel) == digest
    other = manifest(p.model_copy(update={"seed": 1}), tmp_path / "c")
    assert other["files"]["ligand/embeddings.npy"] != manifests[0]["files"]["ligand/embeddings.npy"]


def test_saved_dataset_loads_back_identically(tmp_path):
    ps = small_ligand()
    save(ps, tmp_path)
    back = load(tmp_path, "ligand")
    np.testing.assert_array_equal(back.embeddings, ps.embeddings)
    np.testing.assert_array_equal(back.src, ps.src)
    np.testing.assert_array_equal(back.dst, ps.dst)
    np.testing.assert_array_equal(back.truth.log_weight(ps.src, ps.dst), ps.truth.log_weight(ps.src, ps.dst))


def test_missing_dataset_names_the_stage(tmp_path):
    with pytest.raises(FileNotFoundError, match="protein_data stage"):
        load(tmp_path, "kinase")


def test_the_inclusion_model_matches_re_runs_of_the_generator():
    """The Bayes reference's inclusion probabilities against Monte Carlo: the same proteins, the pair draw re-run
    400 times; the frequencies agree to Monte Carlo error and the listed total is n_pairs."""
    ps = synthetic.generate("ligand", scale=0.12)
    n, n_pairs = ps.n_proteins, ps.n_pairs
    everyone = np.arange(n)
    p = ps.truth.inclusion(everyone, everyone)
    assert p.sum() == pytest.approx(n_pairs, rel=1e-6) and p.min() >= 0 and p.max() <= 1
    drawn, counts = synthetic.inclusion_counts(ps.truth, n_pairs, 400, seed=3)
    freq = np.zeros(n * n)
    freq[drawn] = counts / 400
    se = np.sqrt(np.maximum(p.ravel() * (1 - p.ravel()), 1e-4) / 400)
    assert np.mean(np.abs(freq - p.ravel()) < 4 * se) > 0.995
    assert np.corrcoef(freq, p.ravel())[0, 1] > 0.99


def test_the_bayes_reference_ranks_at_least_as_well_as_the_log_weight():
    ps = synthetic.generate("ligand", scale=0.5)
    bayes, weight = [], []
    for trial in range(6):
        s = outer_split(ps, 80, 0, trial)
        bayes.append(auroc(ps.truth.inclusion(s.held_out, s.held_out), s.labels))
        weight.append(auroc(ps.truth.log_weight(s.held_out, s.held_out), s.labels))
    assert np.mean(bayes) >= np.mean(weight) - 1e-3
