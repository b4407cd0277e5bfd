"""The encoders of the SSL experiment: ResNet-18 (the paper's, ``anchorbench.ssl.resnet``) and a small ConvNet for
CDP on a CPU, both ``[N, 3, 32, 32] -> [N, feature_dim]``, chosen by ``ssl.encoder``.

The ConvNet is this project's choice, not the paper's: four 3x3 conv-BatchNorm-ReLU layers (strides 2, 2, 2, 1;
width, 2 width, 4 width, 4 width channels) and a global average pool, so ``feature_dim = 4 width`` (32 at the default
profile's width 8). A forward-backward pass costs it about a twentieth of ResNet-18's at width 8 on a CPU
(``bench/bench_ssl.py`` times whole units). A CDP image is one glyph in a quadrant on black: the stride-2 stem keeps
an 8x8 trace of a 16x16 glyph (sklearn's digits are 8x8), and zero padding lets the pooled features tell the
quadrants apart.
"""

from __future__ import annotations

import torch
from torch import nn

from anchorbench.ssl.resnet import ResNet18

Tensor = torch.Tensor


class ConvNet(nn.Module):
    """``[N, 3, H, W] -> [N, 4 width]`` features: four conv-BN-ReLU layers and a global average pool."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"ConvNet width (first-layer channels) must be >= 1, got {width}")
        layers, c_in = [], 3
        for c_out, stride in ((width, 2), (2 * width, 2), (4 * width, 2), (4 * width, 1)):
            layers += [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
            c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.feature_dim = 4 * width

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x).mean(dim=(2, 3))


ENCODERS = {"resnet18": ResNet18, "convnet": ConvNet}


def init_encoder(name: str, width: int, seed: int, device: torch.device) -> nn.Module:
    """The encoder ``name`` at its seeded initial weights: every unit of a seed starts from the same network, the
    untrained baseline (``random_init``) included. Seeds torch's global generator (the network init)."""
    torch.manual_seed(seed)
    return ENCODERS[name](width).to(device)
