"""Benchmark domains, each a :class:`Domain`: paired samples at a target MI, with their true MI."""

from __future__ import annotations

import math
from typing import Protocol

import torch
import torch.nn.functional as F

from anchorbench.mi_benchmark.channel import bsc_crossover, class_channel_mi_bits
from estimators.oracles import rho_for_mi

Tensor = torch.Tensor

class Domain(Protocol):
    """What the engine needs from a data domain. Samples are float32 on the domain's device and are drawn
    from the given generators only, so a seed fixes the data stream whatever else runs beside it."""

    name: str
    dx: int
    dy: int

    def true_mi_bits(self, target_bits: float) -> float:
        """The exact MI (bits) of pairs sampled at ``target_bits``."""

    def sample(self, runs: int, batch: int, target_bits: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``runs`` batches from one generator: ``x [runs, batch, dx]``, ``y [runs, batch, dy]``."""

    def sample_many(self, batch: int, target_bits: float, generators: list[torch.Generator]) -> tuple[Tensor, Tensor]:
        """One batch per generator, stacked: ``x [len(generators), batch, dx]``, ``y [..., dy]``."""


# MI-preserving elementwise bijections applied to both X and Y (Czyz et al. 2023, bmi).
TRANSFORMS = {
    "identity": lambda t: t,
    "cubic": lambda t: t ** 3,
    "half_cube": lambda t: t * t.abs().sqrt(),
    "asinh": torch.asinh,
}


class GaussianDomain:
    """X ~ N(0, I_d), Y = rho X + sqrt(1 - rho^2) eps, rho from the target MI; optional transform."""

    name = "gaussian"

    def __init__(self, dim: int = 10, transform: str = "identity", device: str | torch.device = "cpu") -> None:
        if transform not in TRANSFORMS:
            raise ValueError(f"gaussian transform must be one of {sorted(TRANSFORMS)}, got {transform!r}")
        self.dx = self.dy = dim
        self.transform, self.device = transform, torch.device(device)

    def true_mi_bits(self, target_bits: float) -> float:
        return float(target_bits)

    def sample_many(self, batch: int, target_bits: float, generators: list[torch.Generator]) -> tuple[Tensor, Tensor]:
        """One batch per generator: ``[len(generators), batch, d]`` each."""
        xs, ys = zip(*(self.sample(1, batch, target_bits, g) for g in generators))
        return torch.cat(xs), torch.cat(ys)

    def sample(self, runs: int, batch: int, target_bits: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        rho = rho_for_mi(target_bits * math.log(2.0), self.dx)
        x = torch.randn(runs, batch, self.dx, generator=generator, device=self.device)
        eps = torch.randn(runs, batch, self.dx, generator=generator, device=self.device)
        y = rho * x + math.sqrt(1.0 - rho * rho) * eps
        f = TRANSFORMS[self.transform]
        return f(x), f(y)


class ClassChannelDomain:
    """Same-class sampling through a binary symmetric channel (Lee & Rhee's image/text domains).

    ds source bits c ~ Bernoulli(1/2) for X; Y's bits are c xor n, n ~ Bernoulli(p) with p solved
    exactly for the target. Component k of X is a random pool instance of class c_k; component k of
    Y an independent random instance of class (c xor n)_k. Independent draws (the same instance may
    come up twice) keep X and Y independent given the bits, which is what makes I(X; Y) =
    I(C_X; C_Y) = ds (1 - H_b(p)) when the class is recoverable from an instance; the reference's
    "redraw if identical" adds a small dependence of its own.
    """

    def __init__(self, name: str, items: Tensor, labels: Tensor, sources: int, render, dx: int,
                 device: str | torch.device = "cpu") -> None:
        self.name, self.sources, self.render, self.dx, self.dy = name, sources, render, dx, dx
        self.device = torch.device(device)
        self.items = items.to(self.device)
        self.by_class = [torch.nonzero(labels == c).flatten().to(self.device) for c in (0, 1)]
        if min(len(i) for i in self.by_class) == 0:
            raise ValueError(f"{name} pool needs instances of both classes 0 and 1")

    def true_mi_bits(self, target_bits: float) -> float:
        return class_channel_mi_bits(self.sources, bsc_crossover(self.sources, target_bits))

    def class_bits(self, n: int, target_bits: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Source bits ``[n, ds]`` of X and of Y (X's through the BSC)."""
        p = bsc_crossover(self.sources, target_bits)
        cx = torch.randint(0, 2, (n, self.sources), generator=generator, device=self.device)
        flip = torch.rand(n, self.sources, generator=generator, device=self.device) < p
        return cx, cx ^ flip.long()

    def instances(self, bits: Tensor, generator: torch.Generator) -> Tensor:
        """A random pool index of class ``bits[i, k]`` for every entry: ``[n, ds]`` long."""
        # index_select, not pool[idx]: on CPU (torch 2.13) advanced indexing of a 1-D tensor costs
        # ~8 ms per 10k indices against ~10 us here, and it dominated the sampling time.
        picks = [pool.index_select(0, torch.randint(0, len(pool), (bits.numel(),), generator=generator,
                                                    device=self.device)).view(bits.shape)
                 for pool in self.by_class]
        return torch.where(bits.bool(), picks[1], picks[0])

    def gather(self, indices: Tensor) -> Tensor:
        """Pool items at ``indices [n, ds]``: ``[n, ds, *item_shape]`` (one index_select, see instances)."""
        return self.items.index_select(0, indices.flatten()).view(*indices.shape, *self.items.shape[1:])

    def draw(self, n: int, target_bits: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Pool indices ``[n, ds]`` of X's and Y's components."""
        cx, cy = self.class_bits(n, target_bits, generator)
        return self.instances(cx, generator), self.instances(cy, generator)

    def sample(self, runs: int, batch: int, target_bits: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        return self._render_draws(batch, target_bits, [generator], runs)

    def sample_many(self, batch: int, target_bits: float, generators: list[torch.Generator]) -> tuple[Tensor, Tensor]:
        return self._render_draws(batch, target_bits, generators, 1)

    def _render_draws(self, batch: int, target_bits: float, generators: list[torch.Generator],
                      runs_per_generator: int) -> tuple[Tensor, Tensor]:
        """``runs_per_generator`` batches per generator, ``[len(generators) * runs_per_generator, batch, dx]``.

        Indices come from each generator; the rendering is one batched call for all of them.
        """
        ix, iy = zip(*(self.draw(runs_per_generator * batch, target_bits, g) for g in generators))
        n = len(generators) * runs_per_generator
        x = self.render(self.gather(torch.cat(ix)))  # [n * batch, dx]
        y = self.render(self.gather(torch.cat(iy)))
        return x.view(n, batch, -1), y.view(n, batch, -1)


def tile(digits: Tensor, grid: tuple[int, int]) -> Tensor:
    """``[n, ds, h, w]`` digit images -> ``[n, rows * h, cols * w]`` canvases, source k at (k // cols, k % cols)."""
    n, ds, h, w = digits.shape
    rows, cols = grid
    return digits.view(n, rows, cols, h, w).permute(0, 1, 3, 2, 4).reshape(n, rows * h, cols * w)


def resize_matrix(n_in: int, n_out: int) -> Tensor:
    """``[n_out, n_in]`` matrix of 1-D antialiased bicubic resizing (F.interpolate on the identity)."""
    eye = torch.eye(n_in)[:, None, None, :]  # n_in one-row images
    return F.interpolate(eye, size=(1, n_out), mode="bicubic", align_corners=False, antialias=True)[:, 0, 0, :].T


def mnist_renderer(grid: tuple[int, int], img_size: int, device: str | torch.device = "cpu"):
    """Tile the digits, resize the canvas bicubically (antialiased) to img_size^2, flatten to [n, img_size^2].

    The canvas is squashed to a square as in the reference protocol; values are clamped to [0, 1].
    PyTorch's antialiased bicubic resize is separable, so it is two small matmuls
    A_h @ canvas @ A_w^T (equal to F.interpolate to float rounding, and several times faster).
    """
    rows, cols = grid
    a_h = resize_matrix(28 * rows, img_size).to(device)  # [S, H]
    a_w_t = resize_matrix(28 * cols, img_size).T.contiguous().to(device)  # [W, S]

    def render(digits: Tensor) -> Tensor:  # [n, ds, 28, 28] float in [0, 1]
        canvas = tile(digits, grid)  # [n, H, W]
        n, h, w = canvas.shape
        # width first as one [n*H, W] x [W, S] GEMM (a broadcast batched matmul is ~1.6x slower on CPU)
        wide = (canvas.reshape(n * h, w) @ a_w_t).view(n, h, -1)  # [n, H, S]
        return torch.matmul(a_h, wide).clamp_(0.0, 1.0).flatten(1)  # [n, S * S]
    return render


def grid_for(sources: int) -> tuple[int, int]:
    """2 x (ds / 2) tiles (2 x 5 for ds = 10), or 1 x ds for odd ds."""
    return (2, sources // 2) if sources % 2 == 0 else (1, sources)


def build_domain(name: str, pools: dict | None = None, device: str | torch.device = "cpu", **kwargs) -> Domain:
    """Domain ``name`` in {gaussian, mnist, imdb_bert}; mnist and imdb_bert need ``pools`` (load_pools)."""
    if name == "gaussian":
        return GaussianDomain(device=device, **kwargs)
    if name not in ("mnist", "imdb_bert"):
        raise ValueError(f"domain must be one of ['gaussian', 'imdb_bert', 'mnist'], got {name!r}")
    if not pools or name not in pools:
        raise ValueError(f"domain {name!r} needs its pool: run the data stage (`dvc repro data`) first")
    pool = pools[name]
    sources = kwargs.pop("sources", 10)
    if name == "mnist":
        img_size = kwargs.pop("img_size", 64)
        grid = tuple(kwargs.pop("grid", None) or grid_for(sources))
        if len(grid) != 2 or grid[0] * grid[1] != sources:
            raise ValueError(f"mnist grid {grid} must be (rows, cols) with rows * cols = sources = {sources}")
        items = pool["images"].float().div_(255.0)
        render = mnist_renderer(grid, img_size, device)
        dx = img_size * img_size
    else:
        items = pool["embeddings"].float()
        render = lambda emb: emb.flatten(1)  # noqa: E731  [n, ds, 768] -> [n, ds * 768]
        dx = sources * items.shape[1]
    if kwargs:
        raise ValueError(f"domain {name!r} got unknown settings {sorted(kwargs)}")
    return ClassChannelDomain(name, items, pool["labels"], sources, render, dx, device)
