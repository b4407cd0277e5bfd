"""Input checks and index helpers shared by every objective.

All objectives take a score matrix ``scores`` of shape ``[..., B, B]`` with
``scores[..., i, j] = c(x_i, y_j)``: the diagonal holds the B positive (joint) pairs,
the B(B-1) off-diagonal entries are negative pairs drawn from the product of marginals.
Leading dimensions are independent runs and are never mixed.
"""

from __future__ import annotations

import math

import torch

Tensor = torch.Tensor


def check_scores(scores: Tensor, *, finite: bool = True, positive: bool = False) -> None:
    """Raise ValueError unless ``scores`` is a floating ``[..., B, B]`` tensor with B >= 2."""
    if not isinstance(scores, torch.Tensor):
        raise ValueError(f"scores must be a torch.Tensor of shape [..., B, B], got {type(scores).__name__}")
    if not scores.is_floating_point():
        raise ValueError(f"scores must be a floating-point tensor, got dtype {scores.dtype}")
    if scores.dim() < 2 or scores.shape[-1] != scores.shape[-2]:
        raise ValueError(f"scores must have shape [..., B, B] (square in the last two dims), got {tuple(scores.shape)}")
    if scores.shape[-1] < 2:
        raise ValueError(f"scores needs a batch of B >= 2 pairs to form negatives, got B = {scores.shape[-1]}")
    if finite and not torch.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf: the critic diverged or its input is invalid")
    if positive and not (scores > 0).all():
        raise ValueError("parametrization 'pd' needs strictly positive scores (r = c > 0); "
                         "use a critic with a softplus output")


def diag(scores: Tensor) -> Tensor:
    """Positive-pair scores ``[..., B]``."""
    return scores.diagonal(dim1=-2, dim2=-1)


def offdiag_mask(B: int, device: torch.device) -> Tensor:
    """``[B, B]`` boolean mask, True off the diagonal."""
    return ~torch.eye(B, dtype=torch.bool, device=device)


def offdiag_logsumexp(scores: Tensor) -> Tensor:
    """log sum_{i != j} exp(scores_ij), shape ``[...]``."""
    B = scores.shape[-1]
    masked = scores.masked_fill(~offdiag_mask(B, scores.device), -math.inf)
    return masked.flatten(-2).logsumexp(-1)


def offdiag_logmeanexp(scores: Tensor) -> Tensor:
    """log mean_{i != j} exp(scores_ij), shape ``[...]``."""
    B = scores.shape[-1]
    return offdiag_logsumexp(scores) - math.log(B * (B - 1))


def offdiag_mean(values: Tensor) -> Tensor:
    """mean_{i != j} values_ij, shape ``[...]``."""
    B = values.shape[-1]
    total = values.sum((-2, -1)) - diag(values).sum(-1)
    return total / (B * (B - 1))


def cyclic_columns(scores: Tensor, start: int, stop: int) -> Tensor:
    """Entries ``scores[..., i, (i + k) % B]`` for k in [start, stop), shape ``[..., B, stop - start]``.

    Offset 0 is the positive pair; offsets 1..B-1 are the B-1 negatives of row i. Taking a
    contiguous range of offsets picks a fixed number of negatives per row without Python loops.
    """
    B = scores.shape[-1]
    rows = torch.arange(B, device=scores.device)[:, None]
    offsets = torch.arange(start, stop, device=scores.device)[None, :]
    index = ((rows + offsets) % B).expand(*scores.shape[:-1], stop - start)
    return scores.gather(-1, index)
