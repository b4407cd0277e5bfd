"""A fitted run (:class:`FitResult`) and the seeds of one estimator together (:class:`FitSummary`)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

import estimators
from anchorbench.engine import LOG2E
from anchorbench.fit.data import Standardizer, as_matrix

PAIR_ELEMENTS = 2**22  # activations one evaluation chunk may hold (pairs x width for the joint critic)


def identifies_ratio(est: estimators.Estimator) -> bool:
    """Whether the trained critic identifies log r = PMI (not just up to C(y) or a constant)."""
    return bool(est.identifies_ratio)


def log_ratio(est: estimators.Estimator, scores: torch.Tensor) -> torch.Tensor:
    """Elementwise PMI estimate in nats from critic outputs ``[..., B, B]``."""
    return est.log_ratio(scores)


def _pad(rows: torch.Tensor, n: int) -> torch.Tensor:
    """``rows`` filled up to ``n`` rows by repeating the last one (the joint critic needs square blocks)."""
    return torch.cat([rows, rows[-1:].expand(n - len(rows), -1)]) if len(rows) < n else rows


def _chunk(critic: torch.nn.Module) -> int:
    width = getattr(getattr(critic, "first_x", None), "weight", None)
    if width is None:  # separable / bilinear: cost linear in rows, the [c, c] score block dominates
        return 2048
    return max(16, int(math.sqrt(PAIR_ELEMENTS / width.shape[-1])))


@torch.no_grad()
def critic_log_ratio(critic: torch.nn.Module, est: estimators.Estimator, x: torch.Tensor, y: torch.Tensor,
                     aligned: bool) -> np.ndarray:
    """log-ratio of pairs: aligned ``x[m], y[m] -> [m]`` or the grid ``x[m], y[k] -> [m, k]`` (nats, float64)."""
    c = _chunk(critic)
    if aligned:
        out = []
        for i in range(0, len(x), c):
            xi, yi = x[i:i + c], y[i:i + c]
            n = max(2, len(xi))
            block = log_ratio(est, critic(_pad(xi, n)[None], _pad(yi, n)[None])[0])  # [n, n]
            out.append(block.diagonal()[:len(xi)].double().cpu())
        return torch.cat(out).numpy()
    out = torch.empty(len(x), len(y), dtype=torch.float64)
    for i in range(0, len(x), c):
        xi = x[i:i + c]
        for j in range(0, len(y), c):
            yj = y[j:j + c]
            n = max(2, len(xi), len(yj))
            block = log_ratio(est, critic(_pad(xi, n)[None], _pad(yj, n)[None])[0])  # [n, n]
            out[i:i + len(xi), j:j + len(yj)] = block[:len(xi), :len(yj)].double().cpu()
    return out.numpy()


def dv_readout(log_ratio: np.ndarray) -> float:
    """Donsker-Varadhan MI readout (nats) of a PMI grid ``[m, m]`` over held-out rows (entry i, j: x_i with y_j):
    mean of the diagonal (joint pairs) minus log mean exp of the m(m-1) off-diagonal ones (product pairs).

    A lower bound on the MI for any critic in expectation (up to the log-mean's finite-sample bias), and tight at
    log r: unlike the plug-in mean of the diagonal it subtracts whatever normalisation offset the critic has.
    """
    m = len(log_ratio)
    off = log_ratio[~np.eye(m, dtype=bool)]
    top = off.max()
    return float(np.mean(np.diag(log_ratio)) - (top + math.log(np.mean(np.exp(off - top)))))


def _caveat(est: estimators.Estimator) -> str:
    return (f"estimator {est.name!r} does not identify the density ratio: its PMI is defined only up to "
            + ("a function C(y) of y" if est.name in ("infonce", "scoring_rule") or est.hparams.get("nu") == 0
               else "an additive constant") + "; compare values only within a column (fixed y) or use an "
            "identified estimator such as infonce_anchor")


@dataclass
class FitResult:
    """One run at its best state (lowest validation loss).

    ``mi_nats``/``mi_bits``: the estimator's readout (fixed batches of batch_size rows) on the rows named by
    ``readout``: "test" when the split has test rows (rows neither training nor early stopping used), else
    "val" (the validation rows early stopping chose the state on); NaN if the run diverged (``diverged_step`` is
    then the step). ``val_mi_nats``: the validation readout at the best state either way. ``curve``: step,
    train_loss (mean since the previous check), val_loss, val_mi_bits. ``identified``: whether ``pmi``
    estimates the PMI itself.
    """

    run: object  # FitRun
    mi_nats: float
    mi_bits: float
    readout: str
    val_mi_nats: float
    best_step: int
    stopped_step: int
    diverged_step: int | None
    curve: pd.DataFrame
    critic: torch.nn.Module = field(repr=False)
    estimator: estimators.Estimator = field(repr=False)
    standardize: tuple[Standardizer, Standardizer] = field(repr=False)

    @property
    def identified(self) -> bool:
        return identifies_ratio(self.estimator)

    @property
    def diverged(self) -> bool:
        return self.diverged_step is not None

    def _inputs(self, x, y) -> tuple[torch.Tensor, torch.Tensor]:
        if self.diverged:
            raise ValueError(f"run {self.run} diverged at step {self.diverged_step}: it has no PMI")
        device = next(self.critic.parameters()).device
        sx, sy = self.standardize
        return sx(as_matrix("x", x), device), sy(as_matrix("y", y), device)

    def _check_identified(self, strict: bool) -> None:
        if self.identified:
            return
        if strict:
            raise ValueError(_caveat(self.estimator))
        warnings.warn(_caveat(self.estimator), stacklevel=3)

    def pmi(self, x, y, strict: bool = False) -> np.ndarray:
        """PMI in nats of aligned raw pairs ``x[m, dx], y[m, dy] -> [m]``.

        The split's standardisation and clip are applied, then ``Estimator.log_ratio`` of the critic's scores.
        For an estimator that does not identify the ratio (infonce: up to C(y); dv, mine: up to a constant)
        this warns, or raises ValueError if ``strict``.
        """
        self._check_identified(strict)
        xs, ys = self._inputs(x, y)
        if len(xs) != len(ys):
            raise ValueError(f"x and y must have the same number of rows, got {len(xs)} and {len(ys)}")
        return critic_log_ratio(self.critic, self.estimator, xs, ys, aligned=True)

    def pmi_grid(self, x, y, strict: bool = False) -> np.ndarray:
        """PMI in nats of every pair: ``x[m, dx], y[k, dy] -> [m, k]`` (entry i, j: x_i with y_j)."""
        self._check_identified(strict)
        xs, ys = self._inputs(x, y)
        return critic_log_ratio(self.critic, self.estimator, xs, ys, aligned=False)


@dataclass
class FitSummary:
    """All seeds of one estimator on one dataset.

    ``per_seed_bits``: each seed's MI readout; ``mi_bits``/``mi_nats``: the summary over the seeds that did not
    diverge, ``mi_bits_sd`` the SD of their readouts (ddof 1; 0 for one seed); NaN if every seed diverged.
    The readouts are the runs' own (``FitResult.mi_bits``) unless :meth:`read_dv` replaced them: then each seed's
    is the DV readout of its PMI grid on the test rows and the summary the DV readout of the seeds' mean PMI
    grid (``ensemble``; tighter than the mean of the seeds' bounds, as DV is concave in the critic).
    ``curve``: every run's curve with a ``seed`` column. ``train_rows``/``val_rows``/``test_rows``: indices of
    the input rows in each part of the split (no test rows: the MI is read on the validation rows).
    """

    estimator: str
    results: list[FitResult]
    train_rows: np.ndarray
    val_rows: np.ndarray
    test_rows: np.ndarray
    readout: str = "estimator"  # or "dv": see read_dv
    dv_nats: list[float] | None = None  # [seeds] per-seed DV readouts (NaN for a diverged seed)
    ensemble_nats: float | None = None

    def read_dv(self, x_test, y_test) -> None:
        """Read the MI as DV on the test rows ``x_test[t, dx]``, ``y_test[t, dy]`` (raw, as given to the fit)."""
        grids = {id(r): r.pmi_grid(x_test, y_test) for r in self.ok}  # [t, t] each
        self.dv_nats = [dv_readout(grids[id(r)]) if id(r) in grids else math.nan for r in self.results]
        self.ensemble_nats = dv_readout(np.mean(list(grids.values()), axis=0)) if grids else math.nan
        self.readout = "dv"

    @property
    def ok(self) -> list[FitResult]:
        return [r for r in self.results if not r.diverged]

    @property
    def per_seed_bits(self) -> list[float]:
        if self.dv_nats is not None:
            return [v * LOG2E for v in self.dv_nats]
        return [r.mi_bits for r in self.results]

    def _ok_bits(self) -> list[float]:
        return [b for b, r in zip(self.per_seed_bits, self.results) if not r.diverged]

    @property
    def mi_bits(self) -> float:
        if self.ensemble_nats is not None:
            return self.ensemble_nats * LOG2E
        return float(np.mean(self._ok_bits())) if self.ok else math.nan

    @property
    def mi_nats(self) -> float:
        return self.mi_bits / LOG2E

    @property
    def mi_bits_sd(self) -> float:
        values = self._ok_bits()
        return float(np.std(values, ddof=1)) if len(values) > 1 else (0.0 if values else math.nan)

    @property
    def n_diverged(self) -> int:
        return len(self.results) - len(self.ok)

    @property
    def identified(self) -> bool:
        return self.results[0].identified

    @property
    def curve(self) -> pd.DataFrame:
        return pd.concat([r.curve.assign(seed=r.run.seed) for r in self.results], ignore_index=True)

    def _mean(self, method: str, x, y, strict: bool) -> np.ndarray:
        if not self.ok:
            raise ValueError(f"every seed of {self.estimator!r} diverged: no PMI")
        with warnings.catch_warnings():
            if not strict:  # one warning for the average, not one per seed
                warnings.simplefilter("ignore")
            values = [getattr(r, method)(x, y, strict=strict) for r in self.ok]
        if not self.identified:
            warnings.warn(_caveat(self.ok[0].estimator), stacklevel=3)
        return np.mean(values, axis=0)

    def pmi(self, x, y, strict: bool = False) -> np.ndarray:
        """Mean over seeds of :meth:`FitResult.pmi`: ``[m]`` nats."""
        return self._mean("pmi", x, y, strict)

    def pmi_grid(self, x, y, strict: bool = False) -> np.ndarray:
        """Mean over seeds of :meth:`FitResult.pmi_grid`: ``[m, k]`` nats."""
        return self._mean("pmi_grid", x, y, strict)
