"""AUROC of a query grid, ROC interpolation and the summary table."""

import math

import numpy as np
import pandas as pd
import pytest

from anchorbench.protein.evaluate import FPR_GRID, auroc, roc_on_grid, summarise


def test_auroc_on_a_grid():
    labels = np.array([[True, False], [False, False]])
    assert auroc(np.array([[3.0, 1.0], [2.0, 0.0]]), labels) == 1.0
    assert auroc(np.array([[0.0, 1.0], [2.0, 3.0]]), labels) == 0.0
    assert auroc(np.array([[1.0, 2.0], [0.0, 0.0]]), labels) == pytest.approx(2 / 3)
    assert math.isnan(auroc(np.zeros((2, 2)), np.zeros((2, 2), bool)))  # no positives: undefined, not 0.5
    with pytest.raises(ValueError, match="diverged"):
        auroc(np.array([[np.nan, 1.0], [2.0, 3.0]]), labels)
    with pytest.raises(ValueError, match="same number of entries"):
        auroc(np.zeros(3), labels)


def test_roc_curve_on_the_common_fpr_grid():
    tpr = roc_on_grid(np.array([3.0, 2.0, 1.0, 0.0]), np.array([True, False, True, False]))
    assert tpr.shape == FPR_GRID.shape and tpr[0] == 0.5 and tpr[-1] == 1.0
    assert np.all(np.diff(tpr) >= 0)


def test_summary_means_sds_and_failures():
    rows = pd.DataFrame({"dataset": ["k"] * 4, "objective": ["a", "a", "a", "b"], "trial": [0, 1, 2, 0],
                         "auroc": [0.6, 0.8, np.nan, np.nan], "status": ["ok", "ok", "diverged", "diverged"]})
    s = summarise(rows).set_index("objective")
    assert s.loc["a", "auroc_mean"] == pytest.approx(0.7)
    assert s.loc["a", "auroc_sd"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert s.loc["a", "trials"] == 2 and s.loc["a", "failed"] == 1
    assert np.isnan(s.loc["b", "auroc_mean"]) and s.loc["b", "failed"] == 1 and s.loc["b", "trials"] == 0


def test_listed_lookup():
    from tests.anchorbench.protein._helpers import toy_set

    ps = toy_set()
    grid = ps.listed(np.array([0, 1, 3]), np.array([1, 2, 4, 5]))
    np.testing.assert_array_equal(grid, [[True, False, False, True], [False, True, False, False],
                                         [False, False, True, False]])
