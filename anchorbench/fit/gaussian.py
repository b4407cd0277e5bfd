"""The Gaussian log-ratio of a split's transformed training rows: the base of a ``gaussian`` separable critic.

After the normal-score transform every Gaussian-copula dataset (Gaussian data through any increasing map of each
column) is jointly Gaussian, and its log-ratio is exactly quadratic; the network then only learns what this
base misses. The covariance is shrunk towards its diagonal by the amount (of ``SHRINKAGE``) whose base reads
the highest DV on the validation rows: with many columns the raw estimate's noise costs more than it carries.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from anchorbench.fit.result import dv_readout

SHRINKAGE = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)  # weight of the diagonal; 1: the independent base (zero)
VAL_ROWS = 4096  # validation rows the shrinkage is chosen on (the DV grid is rows x rows)


def gaussian_terms(cov: np.ndarray, dx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(cross [dx, dy], px [dx, dx], py [dy, dy], constant) of log N(x, y) - log N(x) - log N(y) for a joint
    covariance ``cov`` of (x, y), centred: u^T cross v + u^T px u + v^T py v + constant."""
    prec = np.linalg.inv(cov)
    sxx, syy = cov[:dx, :dx], cov[dx:, dx:]
    constant = -0.5 * (np.linalg.slogdet(cov)[1] - np.linalg.slogdet(sxx)[1] - np.linalg.slogdet(syy)[1])
    px = -0.5 * (prec[:dx, :dx] - np.linalg.inv(sxx))
    py = -0.5 * (prec[dx:, dx:] - np.linalg.inv(syy))
    return -prec[:dx, dx:], px, py, float(constant)


def base_grid(terms, mean_x, mean_y, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The base log-ratio of every pair ``x[m] x y[k] -> [m, k]``."""
    cross, px, py, constant = terms
    u, v = x - mean_x, y - mean_y
    return (u @ cross @ v.T + np.einsum("ij,jk,ik->i", u, px, u)[:, None]
            + np.einsum("ij,jk,ik->i", v, py, v)[None, :] + constant)


def fit_base(x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor) -> dict:
    """The base of one split from its transformed rows: the shrinkage with the best validation DV.
    Returns {"mean_x", "mean_y", "cross", "px", "py", "constant", "shrinkage", "val_dv"}."""
    x, y = x_train.double().cpu().numpy(), y_train.double().cpu().numpy()
    xv, yv = x_val[:VAL_ROWS].double().cpu().numpy(), y_val[:VAL_ROWS].double().cpu().numpy()
    dx = x.shape[1]
    mean_x, mean_y = x.mean(0), y.mean(0)
    cov = np.cov(np.concatenate([x, y], axis=1), rowvar=False).reshape(dx + y.shape[1], -1)
    diag = np.diag(np.diag(cov))
    best = None
    for shrinkage in SHRINKAGE:
        terms = gaussian_terms((1 - shrinkage) * cov + shrinkage * diag, dx)
        dv = dv_readout(base_grid(terms, mean_x, mean_y, xv, yv))
        if best is None or (math.isfinite(dv) and dv > best[0]):
            best = (dv, shrinkage, terms)
    dv, shrinkage, (cross, px, py, constant) = best
    return {"mean_x": mean_x, "mean_y": mean_y, "cross": cross, "px": px, "py": py, "constant": constant,
            "shrinkage": shrinkage, "val_dv": dv}
