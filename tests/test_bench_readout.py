"""bench/bench_readout.py's exact Student-t PMI: its log density is scipy's; its readouts are the plug-in mean of the
joint pairs and DV of the grid of every pair."""

import numpy as np
import pytest
from scipy.stats import multivariate_t

from anchorbench.fit.result import dv_readout
from bench.bench_readout import exact_pmi_grid, log_t, readouts


def test_log_t_is_the_multivariate_t_log_density():
    z = np.random.default_rng(0).standard_normal((50, 4)) * 3
    np.testing.assert_allclose(log_t(z, 2.0), multivariate_t(np.zeros(4), np.eye(4), df=2.0).logpdf(z), rtol=1e-10)


def test_readouts_read_the_pmi_grid_of_every_pair():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((6, 2)), rng.standard_normal((6, 3))
    grid = np.array([[log_t(np.r_[a, b], 3.0) - log_t(a, 3.0) - log_t(b, 3.0) for b in y] for a in x])
    np.testing.assert_allclose(exact_pmi_grid(x, y, 3.0), grid, rtol=1e-12)
    plugin, dv = readouts(x, y, 3.0)
    assert plugin == pytest.approx(np.mean(np.diag(grid)), rel=1e-12)
    assert dv == pytest.approx(dv_readout(grid), rel=1e-12) and dv != plugin
