"""Batched training engine: many independent MI-estimation runs in one critic module.

One group = one domain x one critic configuration. Its runs are (estimator, seed) pairs; they share
one stacked critic with R = len(runs) (one optimizer step advances every run) and, per seed, the
same data stream, so estimators are compared on identical batches. Read it top to bottom:
schedule -> data -> critic -> losses -> step -> readout.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

import estimators
from estimators.critics import build_critic, seed_runs

LOG2E = 1.0 / math.log(2.0)


@dataclass(frozen=True)
class RunSpec:
    """One training run: which estimator (registry name + hyperparameters) and which seed."""

    estimator: str
    seed: int
    hparams: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.estimator


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


def _estimator_groups(runs: list[RunSpec], device: torch.device) -> list[tuple[estimators.Estimator, torch.Tensor]]:
    """One estimator object per distinct (name, hparams), with the indices of its runs."""
    keys: dict[tuple, list[int]] = {}
    for r, run in enumerate(runs):
        keys.setdefault((run.estimator, tuple(sorted(run.hparams.items()))), []).append(r)
    return [(estimators.build(name, **dict(hp)), torch.tensor(idx, device=device)) for (name, hp), idx in keys.items()]


def train_group(domain, runs: list[RunSpec], critic: dict, schedule: Schedule, batch_size: int, lr: float,
                device: str | torch.device = "cpu", autocast_bf16: bool = False, progress: bool = True,
                desc: str = "", on_level_end=None) -> GroupResult:
    """Train every run of the group on ``domain`` along ``schedule``; return per-step readouts.

    ``domain`` has ``dx``, ``dy``, ``sample_many(batch, target_bits, generators) -> (x, y)`` and
    ``true_mi_bits(target_bits)`` (anchorbench.data.domains). ``critic`` holds ``type`` plus the critic's keyword arguments.
    ``on_level_end(level, estimates_bits[:t])``, if given, runs after each level (one host sync per
    level); it may raise to stop training early (Optuna pruning).
    """
    device = torch.device(device)
    R = len(runs)
    seeds = sorted({run.seed for run in runs})
    seed_of_run = torch.tensor([seeds.index(run.seed) for run in runs], device=device)  # [R]
    generators = [torch.Generator(device=device).manual_seed(10_000 + s) for s in seeds]

    kind = critic["type"]
    model = build_critic(kind, R, domain.dx, domain.dy, **{k: v for k, v in critic.items() if k != "type"}).to(device)
    seed_runs(model, [run.seed for run in runs])
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)  # elementwise: runs stay independent
    groups = _estimator_groups(runs, device)

    steps = schedule.steps
    estimates = torch.full((steps, R), math.nan, device=device)  # nats; filled without host syncs
    finite = torch.ones(steps, R, dtype=torch.bool, device=device)
    alive = torch.ones(R, dtype=torch.bool, device=device)
    run_order = torch.argsort(torch.cat([idx for _, idx in groups]))  # estimator-grouped -> run order

    start = time.perf_counter()
    bar = tqdm(total=steps, desc=desc or f"{domain.name}/{kind} R={R}", disable=not progress, mininterval=2.0)
    for step in range(steps):
        target = schedule.level_at(step)
        # data: one batch per seed, shared by every estimator trained with that seed
        x_seed, y_seed = domain.sample_many(batch_size, target, generators)  # [S, B, dx], [S, B, dy]
        x, y = x_seed[seed_of_run], y_seed[seed_of_run]  # [R, B, dx], [R, B, dy]

        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast_bf16):
            scores = model(x, y)  # [R, B, B]
        scores = scores.float()  # losses and log-sum-exps in fp32

        subs = [(est, scores.index_select(0, idx)) for est, idx in groups]
        loss_per_run = torch.cat([est.loss(sub, validate=False) for est, sub in subs])[run_order]  # [R]
        with torch.no_grad():
            value_per_run = torch.cat([est.estimate(sub, validate=False) for est, sub in subs])[run_order]

        ok = torch.isfinite(loss_per_run) & torch.isfinite(value_per_run)
        alive = alive & ok
        finite[step] = ok
        estimates[step] = torch.where(alive, value_per_run.detach(), math.nan)

        optimizer.zero_grad(set_to_none=True)
        torch.where(alive, loss_per_run, 0.0).sum().backward()  # a diverged run stops learning, others go on
        optimizer.step()
        if (step + 1) % 100 == 0 or step + 1 == steps:
            bar.update(step + 1 - bar.n)
        if on_level_end is not None and (step + 1) % schedule.steps_per_level == 0:
            on_level_end(step // schedule.steps_per_level, estimates[: step + 1].cpu().numpy() * LOG2E)
    bar.close()
    seconds = time.perf_counter() - start

    finite_np = finite.cpu().numpy()
    diverged = [int(np.argmin(finite_np[:, r])) if not finite_np[:, r].all() else None for r in range(R)]
    truth = {level: domain.true_mi_bits(level) for level in schedule.levels_bits}
    true_mi = np.repeat([truth[level] for level in schedule.levels_bits], schedule.steps_per_level)
    return GroupResult(runs, true_mi, estimates.cpu().numpy() * LOG2E, diverged, seconds)
