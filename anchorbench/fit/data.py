"""Paired samples: input checks, the train/validation/test split and the per-column transform (z-score or
normal scores of the ranks) fitted on training rows only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True, eq=False)
class PairedSplit:
    """One dataset already split into training, validation and (optionally) test rows.

    ``x_train[n, dx]``, ``y_train[n, dy]``, ``x_val[m, dx]``, ``y_val[m, dy]``, ``x_test[t, dx]``, ``y_test[t, dy]``:
    numpy arrays or torch tensors of numbers, row i of x paired with row i of y. A 1-D array is one column.
    Training rows fit the critic and the column transform, validation rows decide early stopping, test rows
    (both or neither) give the reported MI; without them the MI is read on the validation rows.
    """

    x_train: object
    y_train: object
    x_val: object
    y_val: object
    x_test: object = None
    y_test: object = None

    def __post_init__(self) -> None:
        if (self.x_test is None) != (self.y_test is None):
            raise ValueError("PairedSplit needs both x_test and y_test, or neither")

    @property
    def has_test(self) -> bool:
        return self.x_test is not None


def as_matrix(name: str, values) -> np.ndarray:
    """``values`` as a float64 ``[n, d]`` array; 1-D input is one column. ValueError naming ``name`` otherwise."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a numeric array, could not convert it: {exc}") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool) \
            or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D [rows, columns] (or 1-D: one column), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    array = array.astype(np.float64, copy=False)
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise ValueError(f"{name} has NaN or inf in {int(bad.sum())} row(s), first at row {int(np.argmax(bad))}")
    return array


def check_pair(x_name: str, x, y_name: str, y) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as matrices with equal row counts."""
    x, y = as_matrix(x_name, x), as_matrix(y_name, y)
    if len(x) != len(y):
        raise ValueError(f"{x_name} and {y_name} must have the same number of rows (pairs), got {len(x)} and {len(y)}")
    return x, y


TRANSFORMS = (True, False, "zscore", "rank")


def normal_scores(sorted_train: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Normal scores ``[m, d]`` of ``values[m, d]`` against each column of ``sorted_train[n, d]`` (sorted):
    Phi^-1(p / n) with p the mid-rank position of the value among the training values (tied training values
    share it; a training row's own value gets (rank - 1/2) / n), clamped to [1/2, n - 1/2]. It depends on the
    order of the values only, so it is exactly invariant under strictly increasing maps of a column."""
    n = len(sorted_train)
    position = np.stack([np.searchsorted(c, v, "left") + np.searchsorted(c, v, "right")
                         for c, v in zip(sorted_train.T, values.T)], axis=1) / 2.0
    return torch.special.ndtri(torch.as_tensor(np.clip(position, 0.5, n - 0.5) / n)).numpy()


@dataclass(frozen=True)
class Standardizer:
    """The per-column transform of one side, fitted on training rows only, then a clip to ``[-clip, clip]``.

    z-score (``ranks`` None): (v - mean) / std with the training mean and SD. Normal scores (``ranks`` set):
    v -> Phi^-1 of its rank among the training values (:func:`normal_scores`): monotone in each column, so it
    leaves the MI unchanged, and it maps heavy tails and warped marginals to N(0, 1).
    """

    mean: np.ndarray  # [d]
    std: np.ndarray  # [d]
    clip: float | None
    ranks: np.ndarray | None = None  # [n, d] the training values, each column sorted

    @classmethod
    def fit(cls, name: str, train: np.ndarray, clip: float | None, kind: bool | str = True) -> "Standardizer":
        """``kind``: True or "zscore" (z-score), "rank" (normal scores), False (identity, then the clip)."""
        if kind not in TRANSFORMS:
            raise ValueError(f"standardize must be one of {TRANSFORMS}, got {kind!r}")
        d = train.shape[1]
        if kind is False:
            return cls(np.zeros(d), np.ones(d), clip)
        mean, std = train.mean(axis=0), train.std(axis=0)
        constant = np.flatnonzero(std <= 1e-12 * np.maximum(1.0, np.abs(mean)))
        if constant.size:
            cols = ", ".join(map(str, constant[:10])) + (" ..." if constant.size > 10 else "")
            raise ValueError(f"{name} has {constant.size} constant column(s) in the training rows "
                             f"(columns {cols}); drop them: a constant carries no information")
        if kind == "rank":
            return cls(np.zeros(d), np.ones(d), clip, np.sort(train, axis=0))
        return cls(mean, std, clip)

    def __call__(self, values: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
        """``[n, d]`` raw rows -> transformed, clipped float32 tensor on ``device``."""
        if values.shape[1] != len(self.mean):
            raise ValueError(f"expected {len(self.mean)} columns (as in training), got {values.shape[1]}")
        if self.ranks is not None:
            z = normal_scores(self.ranks, values)
        else:
            z = (values - self.mean) / self.std
        if self.clip is not None:
            z = np.clip(z, -self.clip, self.clip)
        return torch.as_tensor(z, dtype=torch.float32, device=device)


def split_rows(n: int, val_fraction: float, seed: int,
               test_fraction: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded random split of ``n`` rows: sorted (train, validation, test) row indices; round(n * val_fraction)
    validate, round(n * test_fraction) test (none for 0). The validation rows do not depend on test_fraction."""
    if not 0 < val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction must be in (0, 1) and test_fraction in [0, 1), with a sum < 1, got "
                         f"{val_fraction!r} and {test_fraction!r}")
    order = np.random.default_rng(seed).permutation(n)
    n_val, n_test = int(round(n * val_fraction)), int(round(n * test_fraction))
    return (np.sort(order[n_val + n_test:]), np.sort(order[:n_val]), np.sort(order[n_val:n_val + n_test]))


def check_sizes(where: str, n_train: int, n_val: int, batch_size: int, n_test: int | None = None) -> None:
    """Training needs >= 2 batches of rows; validation (and test rows, if any) >= 1 batch (their batches are fixed
    and of ``batch_size``)."""
    if n_train < 2 * batch_size or n_val < batch_size or (n_test is not None and n_test < batch_size):
        test = "" if n_test is None else f" and >= {batch_size} test rows"
        got = f"{n_train} and {n_val}" + ("" if n_test is None else f" and {n_test}")
        raise ValueError(f"too few samples in {where}: need >= {2 * batch_size} training rows (2 batches of "
                         f"batch_size={batch_size}) and >= {batch_size} validation rows{test}, got {got}")
