"""Critics that train R independent runs in one module.

Every parameter has a leading run dimension R (stacked weights, batched matmuls), so one optimizer
step advances all runs and run r's loss never touches run r's neighbours. Inputs are ``x[R, B, dx]``
and ``y[R, B, dy]`` (each run its own batch); outputs are scores ``[R, B, B]`` with
``scores[r, i, j] = c_r(x_i, y_j)``. Under bf16 autocast the hidden layers run in bf16 while the
output layer (and the separable critic's score product) stays float32, so scores keep full precision.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor

_OUTPUTS = ("pmi", "pd")


def fp32(t: Tensor) -> torch.autocast:
    """Context that turns autocast off on ``t``'s device: what runs inside stays float32."""
    return torch.autocast(t.device.type, enabled=False)


class StackedLinear(nn.Module):
    """R independent affine maps: ``[R, N, d_in] -> [R, N, d_out]``; nn.Linear's init per run."""

    def __init__(self, runs: int, d_in: int, d_out: int, bias: bool = True, zero: bool = False) -> None:
        super().__init__()
        self.bound = 0.0 if zero else 1.0 / math.sqrt(d_in)  # zero: the map starts at 0 (and stays 0 at reset)
        self.weight = nn.Parameter(torch.empty(runs, d_in, d_out).uniform_(-self.bound, self.bound))
        self.bias = nn.Parameter(torch.empty(runs, 1, d_out).uniform_(-self.bound, self.bound)) if bias else None

    @torch.no_grad()
    def reset_run(self, r: int, generator: torch.Generator) -> None:
        """Re-draw run r's parameters from ``generator`` (so a run's init depends on its seed only)."""
        for p in (self.weight, self.bias):
            if p is not None:
                noise = torch.rand(p.shape[1:], generator=generator, dtype=p.dtype)  # drawn even if zero
                p[r] = ((2 * noise - 1) * self.bound).to(p.device)

    def forward(self, h: Tensor) -> Tensor:
        if self.bias is None:
            return torch.bmm(h, self.weight)
        return torch.baddbmm(self.bias, h, self.weight)


class StackedMLP(nn.Module):
    """R independent MLPs d_in -> [width (ReLU)] x hidden -> d_out; ``[R, N, d_in] -> [R, N, d_out]``.
    ``zero_last``: the output layer starts at zero (the MLP outputs 0 until it trains)."""

    def __init__(self, runs: int, d_in: int, width: int, hidden: int, d_out: int, zero_last: bool = False) -> None:
        super().__init__()
        dims = [d_in] + [width] * hidden + [d_out]
        self.layers = nn.ModuleList(StackedLinear(runs, a, b, zero=zero_last and i == hidden)
                                    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])))

    def forward(self, h: Tensor) -> Tensor:
        for layer in self.layers[:-1]:
            h = F.relu(layer(h), inplace=True)  # in place: the [R, B*B, W] activations dominate memory traffic
        last = self.layers[-1]
        with fp32(h):  # the output layer is cheap; in the weights' dtype the scores keep full precision under autocast
            return last(h.to(last.weight.dtype))


def _check_common(runs: int, width: int, depth: int, output: str) -> None:
    if runs < 1 or width < 1 or depth < 0:
        raise ValueError("critic needs runs >= 1, width >= 1, depth >= 0; "
                         f"got runs={runs}, width={width}, depth={depth}")
    if output not in _OUTPUTS:
        raise ValueError(f"critic output must be one of {_OUTPUTS} ('pd' adds a softplus so r = c > 0), got {output!r}")


def _finish(scores: Tensor, output: str) -> Tensor:
    # PD parametrization: a softplus keeps the density ratio r = c strictly positive.
    return F.softplus(scores) + 1e-6 if output == "pd" else scores


class JointCritic(nn.Module):
    """c(x, y) = MLP([x, y]) evaluated on all B^2 pairs, as mibenchmark's joint critic: a first layer
    [x, y] -> width, then ``depth`` width -> width layers, then width -> 1 (depth = 2: 4 Linear layers).

    The first layer is computed as x W_x + y W_y broadcast over pairs, which equals W [x; y] exactly
    and costs O(B d W + B^2 W) instead of O(B^2 d W).
    """

    def __init__(self, runs: int, dx: int, dy: int, width: int = 256, depth: int = 2, output: str = "pmi") -> None:
        super().__init__()
        _check_common(runs, width, depth, output)
        self.output = output
        self.first_x = StackedLinear(runs, dx, width)
        self.first_y = StackedLinear(runs, dy, width, bias=False)
        self.rest = StackedMLP(runs, width, width, depth, 1)  # the first layer's ReLU output is its input

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        R, B, _ = x.shape
        with fp32(x):
            hx = self.first_x(x)  # [R, B, W], bias included
            hy = self.first_y(y)  # [R, B, W]
        h = F.relu(hx[:, :, None, :] + hy[:, None, :, :], inplace=True)  # [R, B, B, W]: pair (i, j) = (x_i, y_j)
        scores = self.rest(h.reshape(R, B * B, -1)).reshape(R, B, B)
        return _finish(scores, self.output)


class SeparableCritic(nn.Module):
    """c(x, y) = f(x)^T g(y) / temperature with MLP encoders f, g to an ``embed``-d space.

    Each encoder: d -> width, ``depth`` width -> width layers, width -> embed (mibenchmark's MLP).

    ``cosine=True`` normalises both embeddings (the SimCLR form cos(f, g) / temperature).

    ``gaussian=True`` adds a fixed quadratic log-ratio per run (the ``base``, set by :meth:`set_base`; zero until
    then) and starts f's output layer at zero, so the critic starts as the base and f^T g learns what it misses:
    c(x, y) = x^T A y + x^T P x + y^T Q y + c0 + f(x)^T g(y) / temperature. The base takes no gradient: it is a
    parameter only so that it is stacked, copied and frozen with the rest of the run's state.
    """

    def __init__(self, runs: int, dx: int, dy: int, width: int = 256, depth: int = 2, embed: int = 32,
                 temperature: float = 1.0, cosine: bool = False, gaussian: bool = False, output: str = "pmi") -> None:
        super().__init__()
        _check_common(runs, width, depth, output)
        if not temperature > 0:
            raise ValueError(f"separable critic temperature must be > 0, got {temperature}")
        if gaussian and output != "pmi":  # the base is a log-ratio: it adds to PMI scores only
            raise ValueError(f"a gaussian separable critic needs output 'pmi', got {output!r}")
        self.f = StackedMLP(runs, dx, width, depth + 1, embed, zero_last=gaussian)
        self.g = StackedMLP(runs, dy, width, depth + 1, embed)
        self.temperature, self.cosine, self.output = temperature, cosine, output
        shapes = ((1, dx), (1, dy), (dx, dy), (dx, dx), (dy, dy), (1, 1))  # means, cross, px, py, constant
        self.base = nn.ParameterList(nn.Parameter(torch.zeros(runs, *shape), requires_grad=False)
                                     for shape in shapes) if gaussian else None

    @torch.no_grad()
    def set_base(self, r: int, mean_x, mean_y, cross, px, py, constant: float) -> None:
        """Run r's base log-ratio u^T cross v + u^T px u + v^T py v + constant with u = x - mean_x, v = y - mean_y
        (``[dx]``, ``[dy]``, ``[dx, dy]``, ``[dx, dx]``, ``[dy, dy]``)."""
        if self.base is None:
            raise ValueError("set_base needs a separable critic built with gaussian=True")
        values = (torch.as_tensor(mean_x)[None], torch.as_tensor(mean_y)[None], cross, px, py,
                  torch.tensor([[float(constant)]]))
        for p, value in zip(self.base, values):
            p[r] = torch.as_tensor(value, dtype=p.dtype).to(p.device)

    def _base(self, x: Tensor, y: Tensor) -> Tensor:
        mean_x, mean_y, cross, px, py, constant = self.base
        u, v = x - mean_x, y - mean_y  # [R, B, dx], [R, B, dy]
        qu = (torch.bmm(u, px) * u).sum(-1)  # [R, B]
        qv = (torch.bmm(v, py) * v).sum(-1)
        return torch.bmm(torch.bmm(u, cross), v.transpose(1, 2)) + qu[:, :, None] + qv[:, None, :] + constant

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        fx, gy = self.f(x), self.g(y)  # [R, B, E], float32
        if self.cosine:
            fx, gy = F.normalize(fx, dim=-1), F.normalize(gy, dim=-1)
        with fp32(fx):
            scores = torch.bmm(fx, gy.transpose(1, 2)) / self.temperature  # [R, B, B]
            if self.base is not None:
                scores = scores + self._base(x.float(), y.float())
            return _finish(scores, self.output)


class BilinearCritic(nn.Module):
    """c(x, y) = x^T W y."""

    def __init__(self, runs: int, dx: int, dy: int, output: str = "pmi") -> None:
        super().__init__()
        _check_common(runs, 1, 0, output)
        self.weight = nn.Parameter(torch.randn(runs, dx, dy) / math.sqrt(dx * dy))
        self.output = output

    @torch.no_grad()
    def reset_run(self, r: int, generator: torch.Generator) -> None:
        w = torch.randn(self.weight.shape[1:], generator=generator, dtype=self.weight.dtype)
        self.weight[r] = (w / math.sqrt(w.numel())).to(self.weight.device)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        with fp32(x):  # one small GEMM pair: not worth low precision
            return _finish(torch.bmm(torch.bmm(x, self.weight), y.transpose(1, 2)), self.output)


def seed_runs(critic: nn.Module, seeds: list[int]) -> None:
    """Initialise run r of every stacked layer from ``seeds[r]`` alone.

    A run's initial weights then do not depend on which other runs share the module, so the same
    (estimator, seed) gives the same numbers whatever it is grouped with.
    """
    for r, seed in enumerate(seeds):
        generator = torch.Generator().manual_seed(int(seed))
        for module in critic.modules():
            if hasattr(module, "reset_run"):
                module.reset_run(r, generator)


CRITICS = {"joint": JointCritic, "separable": SeparableCritic, "bilinear": BilinearCritic}


@dataclass(frozen=True)
class CriticConfig:
    """A critic's settings, typed: ``type`` plus the keyword arguments that type takes.

    ``width``/``depth`` apply to joint and separable critics, ``embed``/``temperature``/``cosine`` to
    separable ones, ``output`` (pmi | pd) to all; settings the type does not take stay None (``kwargs``
    drops them).
    """

    type: str
    width: int | None = None
    depth: int | None = None
    embed: int | None = None
    temperature: float | None = None
    cosine: bool | None = None
    gaussian: bool | None = None
    output: str | None = None

    def __post_init__(self) -> None:
        if self.type not in CRITICS:
            raise ValueError(f"critic type must be one of {sorted(CRITICS)}, got {self.type!r}")
        allowed = {"joint": {"width", "depth", "output"},
                   "separable": {"width", "depth", "embed", "temperature", "cosine", "gaussian", "output"},
                   "bilinear": {"output"}}[self.type]
        extra = sorted(k for k, v in asdict(self).items() if k != "type" and v is not None and k not in allowed)
        if extra:
            raise ValueError(f"a {self.type} critic takes {sorted(allowed) or 'no settings'}, got {extra}")

    def kwargs(self) -> dict:
        """Keyword arguments of ``build_critic`` (the settings that are set)."""
        return {k: v for k, v in asdict(self).items() if k != "type" and v is not None}

    def build(self, runs: int, dx: int, dy: int) -> nn.Module:
        return build_critic(self.type, runs, dx, dy, **self.kwargs())


def build_critic(kind: str, runs: int, dx: int, dy: int, **kwargs) -> nn.Module:
    """Build critic ``kind`` in {joint, separable, bilinear} for ``runs`` independent runs."""
    if kind not in CRITICS:
        raise ValueError(f"critic type must be one of {sorted(CRITICS)}, got {kind!r}")
    return CRITICS[kind](runs, dx, dy, **kwargs)
