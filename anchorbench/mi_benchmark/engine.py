"""Batched training engine: many independent MI-estimation runs in stacked critic modules.

One group = one domain x one critic configuration. Its runs are (estimator, seed) pairs. Runs share
stacked critic modules (``anchorbench.engine``: as many runs per module as keep its activations cache-sized
on a CPU, all of them on a GPU) and one optimizer, so one step advances every run; per seed they share one
data stream, so estimators are compared on identical batches. Read it top to bottom:
schedule -> modules (critic + estimators + records) -> step loop -> readout.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from anchorbench.engine import LOG2E, StackedRuns, stack_runs
from anchorbench.mi_benchmark.domains import Domain
from estimators.critics import CriticConfig


@dataclass(frozen=True)
class RunSpec:
    """One training run: which estimator (registry name + hyperparameters) and which seed. ``label`` is its name in
    tables and tags (the registry label of its fixed hyperparameters, tuned values not included); default: the
    registry name."""

    estimator: str
    seed: int
    hparams: dict = field(default_factory=dict)
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.estimator


@dataclass(frozen=True)
class Schedule:
    """Staircase of target MI levels (bits), each held for ``steps_per_level`` steps."""

    levels_bits: tuple[float, ...]
    steps_per_level: int

    @property
    def steps(self) -> int:
        return len(self.levels_bits) * self.steps_per_level

    def level_at(self, step: int) -> float:
        return self.levels_bits[step // self.steps_per_level]


@dataclass
class GroupResult:
    """Per-step estimates of every run of a group.

    ``estimates_bits[t, r]`` is run r's MI readout at step t (NaN once it diverged);
    ``diverged_step[r]`` is the first step whose loss or readout was not finite, or None.
    """

    runs: list[RunSpec]
    true_mi_bits: np.ndarray  # [steps]
    estimates_bits: np.ndarray  # [steps, R]
    diverged_step: list[int | None]
    seconds: float


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` has native bf16 matmuls (CPU: AVX512-BF16 or AMX; GPU: Ampere or newer)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


class RunModule(StackedRuns):
    """Runs that share one stacked critic (``anchorbench.engine``), with per-step records kept on the device."""

    def __init__(self, critic: torch.nn.Module, runs: list[RunSpec], positions: list[int], seed_slots: list[int],
                 steps: int, device: torch.device) -> None:
        super().__init__(critic, runs, positions)
        self.seed_slots = torch.tensor(seed_slots, device=device)  # [r]: which seed's batch each run trains on
        r = len(runs)
        self.estimates = torch.full((steps, r), math.nan, device=device)  # nats; filled without host syncs
        self.finite = torch.ones(steps, r, dtype=torch.bool, device=device)
        self.alive = torch.ones(r, dtype=torch.bool, device=device)

    def step(self, step: int, x_seed: torch.Tensor, y_seed: torch.Tensor, autocast_bf16: bool) -> None:
        """Forward, record the readouts, backward (gradients accumulate; the optimizer steps later)."""
        x, y = x_seed[self.seed_slots], y_seed[self.seed_slots]  # [r, B, dx], [r, B, dy]
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast_bf16):
            scores = self.critic(x, y)  # [r, B, B], float32 (critics keep their output layer in fp32)
        loss = self.run_losses(scores)  # [r]
        with torch.no_grad():
            value = self.run_readouts(scores)  # [r], nats
        ok = torch.isfinite(loss) & torch.isfinite(value)
        self.alive &= ok
        self.finite[step] = ok
        self.estimates[step] = torch.where(self.alive, value, math.nan)
        torch.where(self.alive, loss, 0.0).sum().backward()  # a diverged run stops learning, the others go on


def build_modules(runs: list[RunSpec], critic: CriticConfig, domain, batch_size: int, steps: int,
                  device: torch.device) -> list[RunModule]:
    """The group's runs in stacked modules (``anchorbench.engine.stack_runs``), with their per-step records."""
    seeds = sorted({run.seed for run in runs})
    stacked = stack_runs(runs, lambda r: (critic, domain.dx, domain.dy), batch_size, device)
    return [RunModule(module, [runs[p] for p in positions], positions, [seeds.index(runs[p].seed) for p in positions],
                      steps, device) for module, positions in stacked]


def _gather(modules: list[RunModule], field: str, end: int) -> np.ndarray:
    """``[end, R]`` records of every module, columns in the group's run order (one host sync)."""
    R = sum(len(m.positions) for m in modules)
    out = np.empty((end, R), dtype=np.float32 if field == "estimates" else bool)
    for m in modules:
        out[:, m.positions] = getattr(m, field)[:end].cpu().numpy()
    return out


def train_group(domain: Domain, runs: list[RunSpec], critic: CriticConfig, schedule: Schedule, batch_size: int,
                lr: float, device: str | torch.device = "cpu", autocast_bf16: bool = False, progress: bool = True,
                desc: str = "", on_level_end=None) -> GroupResult:
    """Train every run of the group on ``domain`` along ``schedule``; return per-step readouts.

    ``domain`` follows the :class:`~anchorbench.mi_benchmark.domains.Domain` protocol.
    ``autocast_bf16`` runs the critic's hidden layers in bfloat16 (scores, losses and
    readouts stay float32). ``on_level_end(level, estimates_bits[:t])``, if given, runs after each level
    (one host sync per level); it may raise to stop training early (Optuna pruning).
    """
    device = torch.device(device)
    if autocast_bf16 and not native_bf16(device):
        warnings.warn(f"bf16 is emulated on this {device.type} (no native bf16 matmul): slower than fp32", stacklevel=2)
    seeds = sorted({run.seed for run in runs})
    generators = [torch.Generator(device=device).manual_seed(10_000 + s) for s in seeds]  # one data stream per seed
    modules = build_modules(runs, critic, domain, batch_size, schedule.steps, device)
    params = [p for m in modules for p in m.critic.parameters()]
    # Adam is elementwise, so runs stay independent; fused: one pass over the (large) first-layer weights
    optimizer = torch.optim.Adam(params, lr=lr, fused=True)

    start = time.perf_counter()
    bar = tqdm(total=schedule.steps, desc=desc or f"{domain.name}/{critic.type} R={len(runs)}",
               disable=not progress, mininterval=2.0)
    for step in range(schedule.steps):
        # data: one batch per seed, shared by every estimator trained with that seed
        x_seed, y_seed = domain.sample_many(batch_size, schedule.level_at(step), generators)  # [S, B, dx], [S, B, dy]
        optimizer.zero_grad(set_to_none=True)
        for module in modules:
            module.step(step, x_seed, y_seed, autocast_bf16)
        optimizer.step()
        if (step + 1) % 100 == 0 or step + 1 == schedule.steps:
            bar.update(step + 1 - bar.n)
        if on_level_end is not None and (step + 1) % schedule.steps_per_level == 0:
            on_level_end(step // schedule.steps_per_level, _gather(modules, "estimates", step + 1) * LOG2E)
    bar.close()
    seconds = time.perf_counter() - start

    finite = _gather(modules, "finite", schedule.steps)
    diverged = [int(np.argmin(finite[:, r])) if not finite[:, r].all() else None for r in range(len(runs))]
    truth = {level: domain.true_mi_bits(level) for level in schedule.levels_bits}
    true_mi = np.repeat([truth[level] for level in schedule.levels_bits], schedule.steps_per_level)
    return GroupResult(runs, true_mi, _gather(modules, "estimates", schedule.steps) * LOG2E, diverged, seconds)
