"""Held-out splits: distinct held-out proteins, no leak into training rows or whitening statistics."""

import numpy as np
import pytest

from anchorbench.fit import FitRun, PairedSplit, TrainSettings, fit_runs
from anchorbench.protein.dataset import ProteinSet
from anchorbench.protein.split import draw_held_out, inner_split, outer_split, trial_rng
from tests.anchorbench.protein._helpers import small_ligand, toy_set


def test_held_out_proteins_are_distinct_and_seeded():
    ps = small_ligand()
    a, b = outer_split(ps, 40, 0, 3), outer_split(ps, 40, 0, 3)
    np.testing.assert_array_equal(a.held_out, b.held_out)
    assert len(set(a.held_out)) == 40
    assert not np.array_equal(a.held_out, outer_split(ps, 40, 0, 4).held_out)
    assert len(set(draw_held_out(np.arange(200), 170, trial_rng(0, 0)))) == 170  # without replacement
    with pytest.raises(ValueError, match="fewer than the 6 available"):
        draw_held_out(np.arange(6), 6, trial_rng(0, 0))


def test_training_rows_never_touch_a_held_out_protein():
    ps = small_ligand()
    for trial in range(3):
        s = outer_split(ps, 40, 0, trial)
        held = set(s.held_out)
        assert not held & set(ps.src[s.train_rows]) and not held & set(ps.dst[s.train_rows])
        touches = np.isin(ps.src[s.val_rows], s.held_out) | np.isin(ps.dst[s.val_rows], s.held_out)
        assert touches.all()
        both = np.isin(ps.src, s.held_out) & np.isin(ps.dst, s.held_out)  # the query grid's positives
        assert sorted(np.r_[s.train_rows, s.val_rows, np.flatnonzero(both)]) == list(range(ps.n_pairs))


def test_no_held_out_pair_is_an_early_stopping_row():
    """The pairs of two held-out proteins are the AUROC's positives: early stopping must never see them."""
    ps = small_ligand()
    for trial in range(3):
        s = outer_split(ps, 40, 0, trial)
        both = np.isin(ps.src[s.val_rows], s.held_out) & np.isin(ps.dst[s.val_rows], s.held_out)
        assert s.labels.sum() > 0 and not both.any()
        listed = set(zip(ps.src[s.val_rows], ps.dst[s.val_rows]))
        grid = {(i, j) for a, i in enumerate(s.held_out) for b, j in enumerate(s.held_out) if s.labels[a, b]}
        assert not grid & listed


def test_labels_and_queries_are_the_ordered_held_out_grid():
    ps = toy_set()
    s = outer_split(ps, 3, 0, 0)
    for a, i in enumerate(s.held_out):
        for b, j in enumerate(s.held_out):
            assert s.labels[a, b] == ((i, j) in set(zip(ps.src, ps.dst)))
    np.testing.assert_array_equal(s.queries(ps), ps.embeddings[s.held_out])


def test_whitening_statistics_come_from_training_rows_only():
    """Held-out proteins get huge embeddings: any leak into the statistics would show in the fitted means."""
    ps = small_ligand()
    s = outer_split(ps, 40, 0, 0)
    emb = ps.embeddings.copy()
    emb[s.held_out] = 1e6
    poisoned = ProteinSet(ps.name, ps.accessions, emb, ps.src, ps.dst)
    x_train, y_train, x_val, y_val = s.arrays(poisoned)
    assert np.abs(x_train).max() < 1e3 and np.abs(y_train).max() < 1e3
    assert np.abs(np.r_[x_val, y_val]).max() == 1e6  # the validation rows do touch them
    (fit,) = fit_runs([PairedSplit(x_train, y_train, x_val, y_val)], [FitRun(0, "infonce_anchor", {}, 0)],
                      {"type": "separable", "width": 8, "depth": 0, "embed": 4},
                      TrainSettings(max_steps=2, check_every=1, patience=1, progress=False))
    sx, sy = fit.standardize
    np.testing.assert_allclose(sx.mean, x_train.astype(np.float64).mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(sy.std, y_train.astype(np.float64).std(axis=0), rtol=1e-9)
    assert np.abs(sx.mean).max() < 1e3 and np.abs(sy.mean).max() < 1e3


def test_inner_split_uses_training_proteins_only():
    ps = small_ligand()
    outer = outer_split(ps, 30, 0, 0)
    inner = inner_split(ps, outer, 30, 0, 0)
    assert not set(inner.held_out) & set(outer.held_out)
    rows = np.r_[inner.train_rows, inner.val_rows]
    assert set(rows) <= set(outer.train_rows)
    assert not set(np.r_[ps.src[rows], ps.dst[rows]]) & set(outer.held_out)
