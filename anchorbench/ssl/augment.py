"""SimCLR augmentations on plain torch, vectorised over the batch on its device.

Every random draw comes from the given ``torch.Generator``, so a seeded generator gives the same views.
The recipe follows solo-learn's CIFAR ``symmetric.yaml``: random resized crop (scale 0.08-1, aspect
3/4-4/3, back to the input size, bilinear), horizontal flip (p 0.5), colour jitter (brightness,
contrast, saturation 0.8, hue 0.2; applied with p 0.8, in that fixed order) and grayscale (p 0.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Tensor = torch.Tensor

_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 grey, as torchvision's rgb_to_grayscale


@dataclass(frozen=True)
class Augment:
    """Augmentation strengths (SimCLR / solo-learn CIFAR defaults)."""

    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 0.2)  # brightness, contrast, saturation, hue
    jitter_p: float = 0.8
    gray_p: float = 0.2

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """``[N, 3, H, W]`` in [0, 1] -> augmented ``[N, 3, H, W]`` in [0, 1]."""
        x = random_resized_crop(x, generator, self.crop_scale, self.crop_ratio, self.flip_p)
        x = colour_jitter(x, generator, self.jitter, self.jitter_p)
        return random_grayscale(x, generator, self.gray_p)


def _uniform(n: int, low: float, high: float, like: Tensor, generator: torch.Generator) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, device=like.device, dtype=like.dtype)


def _chance(n: int, p: float, like: Tensor, generator: torch.Generator) -> Tensor:
    """``[N]`` float mask, 1 with probability p."""
    return (torch.rand(n, generator=generator, device=like.device) < p).to(like.dtype)


def grey(x: Tensor) -> Tensor:
    """Luma ``[N, 1, H, W]`` of RGB ``[N, 3, H, W]``."""
    w = torch.tensor(_LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def random_resized_crop(x: Tensor, generator: torch.Generator, scale: tuple[float, float] = (0.08, 1.0),
                        ratio: tuple[float, float] = (3 / 4, 4 / 3), flip_p: float = 0.5) -> Tensor:
    """Crop a random box of area ``scale`` x image and aspect ``ratio`` (log-uniform), resize it back to H x W,
    and flip it horizontally with probability ``flip_p``: one affine grid for the whole batch."""
    n = x.shape[0]
    area = _uniform(n, *scale, x, generator)
    aspect = torch.exp(_uniform(n, math.log(ratio[0]), math.log(ratio[1]), x, generator))
    w = torch.sqrt(area * aspect).clamp(max=1.0)  # box width / image width
    h = torch.sqrt(area / aspect).clamp(max=1.0)
    cx = (1 - w) * (2 * torch.rand(n, generator=generator, device=x.device, dtype=x.dtype) - 1)  # centre in [-1, 1]
    cy = (1 - h) * (2 * torch.rand(n, generator=generator, device=x.device, dtype=x.dtype) - 1)
    flip = 1 - 2 * _chance(n, flip_p, x, generator)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = w * flip, cx, h, cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _rotate_hue(x: Tensor, turns: Tensor) -> Tensor:
    """Rotate the hue of RGB ``[N, 3, H, W]`` by ``turns [N]`` (fractions of a full turn) in YIQ space."""
    to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
                          device=x.device, dtype=x.dtype)
    angle = 2 * math.pi * turns
    cos, sin = angle.cos(), angle.sin()
    rot = torch.zeros(x.shape[0], 3, 3, device=x.device, dtype=x.dtype)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = cos, -sin, sin, cos
    m = torch.linalg.inv(to_yiq) @ rot @ to_yiq  # [N, 3, 3]
    return torch.einsum("nij,njhw->nihw", m, x)


def colour_jitter(x: Tensor, generator: torch.Generator, strength: tuple[float, float, float, float],
                  p: float) -> Tensor:
    """With probability p per image: brightness, contrast, saturation factors in [1 - s, 1 + s] and a hue
    shift in [-h, h] turns; clamped to [0, 1] after each step."""
    n = x.shape[0]
    b, c, s, h = strength
    on = _chance(n, p, x, generator).view(n, 1, 1, 1)
    factors = [_uniform(n, max(0.0, 1 - v), 1 + v, x, generator).view(n, 1, 1, 1) for v in (b, c, s)]
    turns = _uniform(n, -h, h, x, generator)
    y = (x * factors[0]).clamp(0, 1)
    mean = grey(y).mean((2, 3), keepdim=True)
    y = ((y - mean) * factors[1] + mean).clamp(0, 1)
    g = grey(y)
    y = ((y - g) * factors[2] + g).clamp(0, 1)
    y = _rotate_hue(y, turns).clamp(0, 1)
    return on * y + (1 - on) * x


def random_grayscale(x: Tensor, generator: torch.Generator, p: float) -> Tensor:
    """Replace an image by its grey level (3 equal channels) with probability p."""
    on = _chance(x.shape[0], p, x, generator).view(-1, 1, 1, 1)
    return on * grey(x).expand_as(x) + (1 - on) * x
