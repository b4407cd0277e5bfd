"""A faithful re-implementation of the reference protocol's cost structure (bench only).

kyungeun-lee/mibenchmark trains one ``nn.Module`` per run in a Python loop, builds every sample in
Python (a numpy canvas and a PIL bicubic resize per MNIST sample, one ``np.load`` per IMDB
embedding) and evaluates the joint critic on all B^2 concatenated pairs. Same maths as the engine
(same critic sizes, objectives and data distributions), different cost structure.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

import estimators
from anchorbench.mi_benchmark.channel import bsc_crossover
from estimators.oracles import CorrelatedGaussian


class ConcatCritic(nn.Module):
    """mibenchmark's joint critic: MLP([x_i, y_j]) on every one of the B^2 concatenated pairs."""

    def __init__(self, dx: int, dy: int, width: int, depth: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(dx + dy, width), nn.ReLU()]
        for _ in range(depth):
            layers += [nn.Linear(width, width), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        pairs = torch.cat([x[:, None, :].expand(B, B, -1), y[None, :, :].expand(B, B, -1)], -1)  # [B, B, dx+dy]
        return self.net(pairs.reshape(B * B, -1)).reshape(B, B)


class SeparableBaseline(nn.Module):
    """mibenchmark's separable critic: two MLPs to an embedding, scores = g(x) h(y)^T."""

    def __init__(self, dx: int, dy: int, width: int, depth: int, embed: int = 32) -> None:
        super().__init__()

        def mlp(d):
            layers: list[nn.Module] = [nn.Linear(d, width), nn.ReLU()]
            for _ in range(depth):
                layers += [nn.Linear(width, width), nn.ReLU()]
            return nn.Sequential(*layers, nn.Linear(width, embed))

        self.g, self.h = mlp(dx), mlp(dy)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.g(x) @ self.h(y).T


class GaussianSampler:
    """One torch.randn batch per call, as the reference Gaussian domain."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def __call__(self, batch: int, target_bits: float):
        problem = CorrelatedGaussian.from_mi(target_bits * np.log(2), self.dim)
        return problem.sample(batch)


def _class_bits(sources: int, p: float) -> tuple[list[int], list[int]]:
    cx = [random.randint(0, 1) for _ in range(sources)]
    cy = [c ^ (random.random() < p) for c in cx]
    return cx, cy


class MnistSampler:
    """Per sample: paste ds digits into a numpy canvas, PIL-resize it bicubically, as the reference."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, grid: tuple[int, int], img_size: int) -> None:
        self.by_class = [images[labels == c] for c in (0, 1)]
        self.grid, self.img_size = grid, img_size
        self.sources = grid[0] * grid[1]

    def _render(self, bits: list[int]) -> np.ndarray:
        rows, cols = self.grid
        canvas = np.zeros((28 * rows, 28 * cols), dtype=np.uint8)
        for k, c in enumerate(bits):
            pool = self.by_class[c]
            r, q = divmod(k, cols)
            canvas[28 * r:28 * (r + 1), 28 * q:28 * (q + 1)] = pool[random.randrange(len(pool))]
        img = Image.fromarray(canvas).resize((self.img_size, self.img_size), Image.BICUBIC)
        return np.asarray(img, dtype=np.float32).reshape(-1) / 255.0

    def __call__(self, batch: int, target_bits: float):
        p = bsc_crossover(self.sources, target_bits)
        xs, ys = [], []
        for _ in range(batch):
            cx, cy = _class_bits(self.sources, p)
            xs.append(self._render(cx))
            ys.append(self._render(cy))
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


class ImdbSampler:
    """Per sample and source: one ``np.load`` of a single 768-d embedding file, as the reference."""

    def __init__(self, files_by_class: list[list[Path]], sources: int) -> None:
        self.files, self.sources = files_by_class, sources

    def __call__(self, batch: int, target_bits: float):
        p = bsc_crossover(self.sources, target_bits)
        xs, ys = [], []
        for _ in range(batch):
            cx, cy = _class_bits(self.sources, p)
            xs.append(np.concatenate([np.load(random.choice(self.files[c])).reshape(-1) for c in cx]))
            ys.append(np.concatenate([np.load(random.choice(self.files[c])).reshape(-1) for c in cy]))
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def write_embedding_files(embeddings: np.ndarray, labels: np.ndarray, folder: Path, per_class: int) -> list[list[Path]]:
    """The reference layout: one (1, 768) float32 .npy file per embedding, in a folder per class."""
    out = []
    for c in (0, 1):
        (folder / str(c)).mkdir(parents=True, exist_ok=True)
        idx = np.flatnonzero(labels == c)[:per_class]
        paths = []
        for i in idx:
            path = folder / str(c) / f"{i}.npy"
            np.save(path, embeddings[i: i + 1].astype(np.float32))
            paths.append(path)
        out.append(paths)
    return out


def train_baseline(sampler, dx: int, dy: int, runs: int, steps: int, batch: int, critic: str, width: int,
                   depth: int, estimator: str = "infonce_anchor", target_bits: float = 4.0, lr: float = 5e-4) -> None:
    """R runs, each its own module and optimizer, stepped one after the other (the reference loop)."""
    torch.manual_seed(0)
    make = ConcatCritic if critic == "joint" else SeparableBaseline
    models = [make(dx, dy, width, depth) for _ in range(runs)]
    optimizers = [torch.optim.Adam(m.parameters(), lr=lr) for m in models]
    est = estimators.build(estimator)
    for _ in range(steps):
        for model, opt in zip(models, optimizers):
            x, y = sampler(batch, target_bits)
            loss = est.loss(model(x, y), validate=False)
            opt.zero_grad()
            loss.backward()
            opt.step()
