"""Paired samples: input checks, the train/validation split and z-scoring with training statistics only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True, eq=False)
class PairedSplit:
    """One dataset already split into training and validation rows.

    ``x_train[n, dx]``, ``y_train[n, dy]``, ``x_val[m, dx]``, ``y_val[m, dy]``: numpy arrays or torch tensors of
    numbers, row i of x paired with row i of y. A 1-D array is one column.
    """

    x_train: object
    y_train: object
    x_val: object
    y_val: object


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


@dataclass(frozen=True)
class Standardizer:
    """z-score with statistics of the training rows, then clip to ``[-clip, clip]`` (no clip if None)."""

    mean: np.ndarray  # [d]
    std: np.ndarray  # [d]
    clip: float | None

    @classmethod
    def fit(cls, name: str, train: np.ndarray, clip: float | None, enabled: bool = True) -> "Standardizer":
        d = train.shape[1]
        if not enabled:
            return cls(np.zeros(d), np.ones(d), clip)
        mean, std = train.mean(axis=0), train.std(axis=0)
        constant = np.flatnonzero(std <= 1e-12 * np.maximum(1.0, np.abs(mean)))
        if constant.size:
            cols = ", ".join(map(str, constant[:10])) + (" ..." if constant.size > 10 else "")
            raise ValueError(f"{name} has {constant.size} constant column(s) in the training rows "
                             f"(columns {cols}); drop them: a constant carries no information")
        return cls(mean, std, clip)

    def __call__(self, values: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
        """``[n, d]`` raw rows -> standardised, clipped float32 tensor on ``device``."""
        if values.shape[1] != len(self.mean):
            raise ValueError(f"expected {len(self.mean)} columns (as in training), got {values.shape[1]}")
        z = (values - self.mean) / self.std
        if self.clip is not None:
            z = np.clip(z, -self.clip, self.clip)
        return torch.as_tensor(z, dtype=torch.float32, device=device)


def split_rows(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of ``n`` rows: sorted (train, validation) row indices; round(n * val_fraction) validate."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_fraction))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def check_sizes(where: str, n_train: int, n_val: int, batch_size: int) -> None:
    """Training needs >= 2 batches of rows; validation >= 1 batch (its batches are fixed and of ``batch_size``)."""
    if n_train < 2 * batch_size or n_val < batch_size:
        raise ValueError(f"too few samples in {where}: need >= {2 * batch_size} training rows (2 batches of "
                         f"batch_size={batch_size}) and >= {batch_size} validation rows, got {n_train} and {n_val}")
