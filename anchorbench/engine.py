"""The stacked-module engine shared by the MI benchmark's staircase (``anchorbench.mi_benchmark.engine``) and the
fit core's early-stopping loop (``anchorbench.fit.train``): device resolution, module sizing, and runs grouped into
stacked critic modules whose every parameter has a leading run dimension, so one optimizer step advances them all.

A run is anything with ``estimator`` (registry name), ``hparams`` and ``seed``. Its initial weights depend on its
seed only (``estimators.critics.seed_runs``), so a run gives the same numbers whatever it is grouped with (up to
batched-GEMM rounding when the thread count or module size changes).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import torch

from estimators.critics import CriticConfig, seed_runs
from estimators.registry import build_slices, run_key

LOG2E = 1.0 / math.log(2.0)  # nats -> bits
# Activation elements (runs x rows x width) of one stacked module. On a CPU a module's activations should stay in
# the last-level cache: 2 to 4 runs of a 256-wide joint critic at B = 64 train 1.3x faster per module than 16
# together or 1 alone (bench/bench_engine.py). On a GPU it only caps memory.
MODULE_ELEMENTS = {"cpu": 4 * 2**20, "cuda": 256 * 2**20}
DEFAULT_WIDTH = 256  # the joint and separable critics' default width (estimators.critics)


def resolve_device(setting: str, key: str = "device") -> torch.device:
    """``auto`` -> cuda when a GPU is visible, else cpu; ``cpu``; ``cuda`` / ``cuda:N`` (an error without a GPU).
    ``key`` names the setting in the error (``mi_benchmark.device``)."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting != "cpu" and not (setting == "cuda" or setting.startswith("cuda:")):
        raise ValueError(f"{key} must be auto, cpu or cuda, got {setting!r}")
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"{key} is {setting!r} but no CUDA GPU is visible; use auto or cpu")
    return torch.device(setting)


def runs_per_module(critic: CriticConfig, batch_size: int, device: torch.device) -> int:
    """How many runs share one stacked critic module, from the size of their activations."""
    rows = batch_size * batch_size if critic.type == "joint" else 2 * batch_size  # pairs, or x and y rows
    width = critic.width or (1 if critic.type == "bilinear" else DEFAULT_WIDTH)
    return max(1, MODULE_ELEMENTS.get(device.type, MODULE_ELEMENTS["cuda"]) // (rows * width))


class StackedRuns:
    """Runs that share one stacked critic: ``positions`` are their indices in the caller's run list, ordered by
    estimator, so each estimator owns a contiguous slice ``[a, b)`` evaluated by its own object (``parts``; MINE
    keeps a moving average per slice)."""

    def __init__(self, critic: torch.nn.Module, runs: list, positions: list[int]) -> None:
        self.critic, self.runs, self.positions = critic, runs, positions
        self.parts = build_slices(runs)  # (estimator, first run, end run)

    def run_losses(self, scores: torch.Tensor, parts=None) -> torch.Tensor:
        """Training loss per run: ``[r, B, B] -> [r]`` (no syncing finiteness check)."""
        return torch.cat([est.loss(scores[a:b], validate=False) for est, a, b in parts or self.parts])

    def run_readouts(self, scores: torch.Tensor, parts=None) -> torch.Tensor:
        """MI readout per run in nats: ``[r, B, B] -> [r]``."""
        return torch.cat([est.estimate(scores[a:b], validate=False) for est, a, b in parts or self.parts])


def stack_runs(runs: Sequence, shape: Callable[[int], tuple[CriticConfig, int, int]], batch_size: int,
               device: torch.device) -> list[tuple[torch.nn.Module, list[int]]]:
    """Split ``runs`` into stacked critic modules: ``(module on device, positions)``.

    ``shape(r)`` gives run r's critic configuration and input sizes ``(critic, dx, dy)``; runs of one shape are
    ordered by estimator (``run_key``) then seed and cut into modules of ``runs_per_module`` runs; each run's
    parameters are drawn from its own seed.
    """
    shapes = [shape(r) for r in range(len(runs))]
    order = sorted(range(len(runs)), key=lambda r: (repr(shapes[r]), *run_key(runs[r]), runs[r].seed, r))
    modules = []
    for _, group in itertools.groupby(order, key=lambda r: repr(shapes[r])):
        group = list(group)
        critic, dx, dy = shapes[group[0]]
        size = runs_per_module(critic, batch_size, device)
        for start in range(0, len(group), size):
            positions = group[start:start + size]
            module = critic.build(len(positions), dx, dy)
            seed_runs(module, [runs[p].seed for p in positions])  # a run's init depends on its seed only
            modules.append((module.to(device), positions))
    return modules
