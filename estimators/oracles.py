"""Closed-form test problems: correlated Gaussians with their true MI and log density ratio.

X ~ N(0, I_d), Y = rho X + sqrt(1 - rho^2) eps with eps ~ N(0, I_d), so each of the d coordinate
pairs has correlation rho and I(X; Y) = -(d/2) log(1 - rho^2) nats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

Tensor = torch.Tensor


def gaussian_mi(rho: float, dim: int) -> float:
    """True MI in nats of the d-dimensional correlated Gaussian."""
    return -0.5 * dim * math.log1p(-rho * rho)


def rho_for_mi(mi_nats: float, dim: int) -> float:
    """Per-coordinate correlation giving ``mi_nats`` of MI in ``dim`` dimensions."""
    if mi_nats < 0 or dim < 1:
        raise ValueError(f"need mi_nats >= 0 and dim >= 1, got mi_nats={mi_nats}, dim={dim}")
    return math.sqrt(-math.expm1(-2.0 * mi_nats / dim))


@dataclass(frozen=True)
class CorrelatedGaussian:
    """The correlated Gaussian pair; carries its true MI (nats)."""

    dim: int
    rho: float

    @classmethod
    def from_mi(cls, mi_nats: float, dim: int) -> "CorrelatedGaussian":
        return cls(dim, rho_for_mi(mi_nats, dim))

    @property
    def mi(self) -> float:
        return gaussian_mi(self.rho, self.dim)

    def sample(self, *shape: int, generator: torch.Generator | None = None,
               device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
        """Pairs ``x, y`` of shape ``[*shape, dim]``."""
        x = torch.randn(*shape, self.dim, generator=generator, device=device)
        eps = torch.randn(*shape, self.dim, generator=generator, device=device)
        return x, self.rho * x + math.sqrt(1.0 - self.rho ** 2) * eps

    def log_ratio(self, x: Tensor, y: Tensor) -> Tensor:
        """Oracle critic: ``[..., B, d] x [..., B, d] -> [..., B, B]``,
        entry (i, j) = log p(x_i, y_j) / (p(x_i) p(y_j))."""
        s2 = 1.0 - self.rho ** 2
        xi, yj = x[..., :, None, :], y[..., None, :, :]
        per_dim = -0.5 * math.log(s2) - (yj - self.rho * xi) ** 2 / (2.0 * s2) + yj ** 2 / 2.0
        return per_dim.sum(-1)
