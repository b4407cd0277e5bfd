"""ResNet-18 with the CIFAR stem, on plain torch, and the SimCLR projection head.

CIFAR stem: a 3x3 stride-1 first convolution and no max-pool (a 32x32 image keeps its resolution
through the first stage; the ImageNet 7x7/2 stem + pool would shrink it to 8x8 at once).
``width`` is the channel count of the first stage (64 = the standard ResNet-18); the stages have
width, 2 width, 4 width, 8 width channels, so the feature size is 8 width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (1x1 projection when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


class ResNet18(nn.Module):
    """``[N, 3, H, W] -> [N, 8 width]`` features (global average pool after the last stage)."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"ResNet width (first-stage channels) must be >= 1, got {width}")
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        blocks, c_in = [], width
        for stage, c_out in enumerate((width, 2 * width, 4 * width, 8 * width)):
            for i in range(2):
                blocks.append(BasicBlock(c_in, c_out, stride=2 if stage > 0 and i == 0 else 1))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.feature_dim = 8 * width

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(self.stem(x)).mean(dim=(2, 3))


def projection_head(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    """SimCLR's MLP head ``[N, d_in] -> [N, d_out]``: Linear, BatchNorm, ReLU, Linear."""
    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, d_out))
