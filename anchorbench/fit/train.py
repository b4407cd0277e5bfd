"""Train many critics on fixed paired samples at once, with per-run early stopping on validation loss.

Runs (split, estimator, hparams, seed) whose inputs have the same shape share stacked critic modules
(every parameter has a leading run dimension) and one Adam optimizer, so one step advances every run.
A run's initial weights and its batches depend on its seed only, so it gives the same numbers whatever
it is grouped with. Read top to bottom: settings -> prepared data -> modules -> step loop -> results.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

import estimators
from anchorbench.engine import LOG2E, StackedRuns, resolve_device, stack_runs
from anchorbench.fit.data import PairedSplit, Standardizer, as_matrix, check_sizes
from anchorbench.fit.gaussian import fit_base
from anchorbench.fit.result import FitResult
from estimators.critics import CRITICS, CriticConfig, build_critic

VAL_SEED = 12345  # the validation batches are the same for every run and every check


@dataclass(frozen=True)
class FitRun:
    """One training run: which split (index into the list of splits), estimator, hyperparameters and seed."""

    data: int = 0
    estimator: str = "infonce_anchor"
    hparams: dict = field(default_factory=dict)
    seed: int = 0


@dataclass(frozen=True)
class TrainSettings:
    """How every run is trained.

    ``patience`` and ``check_every`` are in steps: the validation loss is computed every ``check_every``
    steps and a run stops once ``patience`` steps passed without a new best. ``val_batches``: how many fixed
    validation batches of ``batch_size`` rows each check uses (None: enough to cover every validation row
    once; the rows are shuffled once with a fixed seed, the last batch is filled up cyclically). The same
    batches serve every check and the final MI readout, so early stopping does not chase batch noise.
    ``ema``: None, or the decay of an exponential moving average of each run's weights (with TensorFlow's
    warm-up, min(ema, (1 + t) / (10 + t)) at step t); the checks, the kept best state and so the result use the
    average instead of the last step's weights, which carry the step noise of the optimizer into the critic.
    """

    batch_size: int = 64
    lr: float = 1e-4
    max_steps: int = 10_000
    patience: int = 500
    check_every: int = 500
    standardize: bool = True
    clip: float | None = 10.0
    device: str = "cpu"
    progress: bool = True
    val_batches: int | None = None
    ema: float | None = None

    def __post_init__(self) -> None:
        positive = {"batch_size": self.batch_size - 1, "lr": self.lr, "max_steps": self.max_steps,
                    "patience": self.patience, "check_every": self.check_every}
        for key, value in positive.items():
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"TrainSettings.{key} must be > {1 if key == 'batch_size' else 0}, "
                                 f"got {getattr(self, key)!r}")
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"TrainSettings.clip must be > 0 or None, got {self.clip!r}")
        if self.val_batches is not None and self.val_batches < 1:
            raise ValueError(f"TrainSettings.val_batches must be >= 1 or None, got {self.val_batches!r}")
        if self.ema is not None and not (isinstance(self.ema, float) and 0 < self.ema < 1):
            raise ValueError(f"TrainSettings.ema must be a decay in (0, 1) or None, got {self.ema!r}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"TrainSettings.device must be auto, cpu or cuda, got {self.device!r}")

    def torch_device(self) -> torch.device:
        return resolve_device(self.device, "TrainSettings.device")


def fixed_batches(m: int, settings: TrainSettings, device: torch.device) -> torch.Tensor:
    """Row indices ``[k, B]`` of fixed evaluation batches over ``m`` rows: one shuffle with a fixed seed, then the
    rows in order, the last batch filled up cyclically; k covers every row once unless ``val_batches`` is set."""
    B = settings.batch_size
    order = torch.randperm(m, generator=torch.Generator().manual_seed(VAL_SEED))
    k = math.ceil(m / B) if settings.val_batches is None else settings.val_batches
    return order[torch.arange(k * B) % m].reshape(k, B).to(device)


class Prepared:
    """One split on the device: transformed, clipped training rows and fixed validation (and test) batches."""

    def __init__(self, index: int, split: PairedSplit, settings: TrainSettings, device: torch.device) -> None:
        where = f"splits[{index}]"
        parts = ("train", "val", "test") if split.has_test else ("train", "val")
        rows = {part: (as_matrix(f"{where}.x_{part}", getattr(split, f"x_{part}")),
                       as_matrix(f"{where}.y_{part}", getattr(split, f"y_{part}"))) for part in parts}
        for part, (a, b) in rows.items():
            if len(a) != len(b):
                raise ValueError(f"{where}: x_{part} and y_{part} have different row counts ({len(a)} and {len(b)})")
        x_train, y_train = rows["train"]
        if any(a.shape[1] != x_train.shape[1] or b.shape[1] != y_train.shape[1] for a, b in rows.values()):
            raise ValueError(f"{where}: training, validation and test rows have different column counts")
        check_sizes(where, len(x_train), len(rows["val"][0]), settings.batch_size,
                    len(rows["test"][0]) if split.has_test else None)
        self.sx = Standardizer.fit(f"{where}.x_train", x_train, settings.clip, settings.standardize)
        self.sy = Standardizer.fit(f"{where}.y_train", y_train, settings.clip, settings.standardize)
        self.x_train, self.y_train = self.sx(x_train, device), self.sy(y_train, device)  # [n, dx], [n, dy]
        # held-out part -> (x [m, dx], y [m, dy], fixed batches [k, B])
        self.parts = {part: (self.sx(a, device), self.sy(b, device), fixed_batches(len(a), settings, device))
                      for part, (a, b) in rows.items() if part != "train"}
        self.dx, self.dy, self.n_train = x_train.shape[1], y_train.shape[1], len(x_train)
        self.readout = "test" if split.has_test else "val"  # the rows the reported MI is read on


class BatchStream:
    """Training batches of one (split, seed): epochs of a seeded permutation, dropping each epoch's remainder."""

    def __init__(self, data: Prepared, seed: int, batch_size: int) -> None:
        self.data, self.batch_size = data, batch_size
        self.generator = torch.Generator().manual_seed(int(seed))
        self.order, self.position = torch.empty(0, dtype=torch.long), 0

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.position + self.batch_size > len(self.order):
            self.order, self.position = torch.randperm(self.data.n_train, generator=self.generator), 0
        rows = self.order[self.position:self.position + self.batch_size].to(self.data.x_train.device)
        self.position += self.batch_size
        return self.data.x_train[rows], self.data.y_train[rows]  # [B, dx], [B, dy]


class RunModule(StackedRuns):
    """Runs sharing one stacked critic (``anchorbench.engine``), with per-run early-stopping state on the device."""

    def __init__(self, critic: torch.nn.Module, runs: list[FitRun], positions: list[int], streams: list[int],
                 device: torch.device) -> None:
        super().__init__(critic, runs, positions)
        self.streams = streams
        r = len(runs)
        self.active = torch.ones(r, dtype=torch.bool, device=device)  # still training: not stopped, not diverged
        self.done = torch.zeros(r, dtype=torch.bool, device=device)  # stopped or diverged, and frozen at its best
        self.diverged = torch.full((r,), -1, dtype=torch.long, device=device)  # step of the first non-finite loss
        self.loss_sum = torch.zeros(r, device=device)  # training loss since the last check
        self.best_loss = torch.full((r,), math.inf, device=device)
        self.best_mi = torch.full((r,), math.nan, device=device)
        self.best_step = torch.zeros(r, dtype=torch.long, device=device)
        self.stopped_step = torch.zeros(r, dtype=torch.long, device=device)
        self.best_state = [p.detach().clone() for p in critic.parameters()]
        assert all(p.shape[0] == r for p in self.best_state), "every critic parameter needs a leading run dim"
        self.live = r  # runs not finalized yet (a host-side count, updated at each check)
        self.ema: list[torch.Tensor] | None = None  # the weights' moving average (TrainSettings.ema), from step 1

    @torch.no_grad()
    def update_ema(self, step: int, decay: float) -> None:
        """Move the average of the weights towards the weights after ``step`` (it starts as those of step 1)."""
        params = [p.detach() for p in self.critic.parameters()]
        if self.ema is None:
            self.ema = [p.clone() for p in params]
            return
        torch._foreach_lerp_(self.ema, params, 1 - min(decay, (1 + step) / (10 + step)))

    def _scores(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.critic(x, y)  # [r, B, dx], [r, B, dy] -> [r, B, B]

    def train_step(self, step: int, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Forward and backward of every run (stopped and diverged runs get zero gradient)."""
        x = torch.stack([batches[s][0] for s in self.streams])  # [r, B, dx]
        y = torch.stack([batches[s][1] for s in self.streams])  # [r, B, dy]
        scores = self._scores(x, y)  # [r, B, B]
        loss = self.run_losses(scores)  # [r]
        finite = torch.isfinite(loss)
        self.diverged = torch.where(self.active & ~finite & (self.diverged < 0), step, self.diverged)
        self.active &= finite
        masked = torch.where(self.active, loss, 0.0)
        self.loss_sum += masked.detach()
        masked.sum().backward()

    @torch.no_grad()
    def evaluate(self, data: list[Prepared], part: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss and MI readout (nats) per run ``[r]`` on ``part`` ("val" or "test") of each run's split: means over
        its fixed batches of that part."""
        splits = [data[run.data].parts[part] for run in self.runs]  # (x, y, batches) per run
        counts = torch.tensor([len(batches) for _, _, batches in splits], device=self.active.device)  # [r]
        loss_sum = torch.zeros(len(self.runs), device=self.active.device)
        mi_sum = torch.zeros_like(loss_sum)
        # a shallow copy per call: MINE's moving average must not move on held-out data
        parts = [(copy.copy(est), a, b) for est, a, b in self.parts]
        for k in range(int(counts.max())):
            rows = [batches[k % len(batches)] for _, _, batches in splits]
            x = torch.stack([xs[i] for (xs, _, _), i in zip(splits, rows)])  # [r, B, dx]
            y = torch.stack([ys[i] for (_, ys, _), i in zip(splits, rows)])  # [r, B, dy]
            scores = self._scores(x, y)
            weight = (k < counts).float()
            loss_sum += weight * self.run_losses(scores, parts)
            mi_sum += weight * self.run_readouts(scores, parts)
        return loss_sum / counts, mi_sum / counts

    @torch.no_grad()
    def freeze(self, runs: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """Put ``runs`` (bool ``[r]``) back to their best state and zero their Adam moments: with zero gradients
        Adam's update is then exactly zero, so they no longer change."""
        for p, best in zip(self.critic.parameters(), self.best_state):
            p[runs] = best[runs]
            for moment in ("exp_avg", "exp_avg_sq"):
                if moment in optimizer.state.get(p, {}):
                    optimizer.state[p][moment][runs] = 0.0

    @torch.no_grad()
    def check(self, step: int, data: list[Prepared], settings: TrainSettings, steps_since: int, final: bool,
              optimizer: torch.optim.Optimizer) -> list[dict]:
        """Validate, keep improved states, stop runs out of patience (or all at the last step). Curve rows.
        With a moving average of the weights, it is what is validated and kept; training goes on from the weights."""
        params = list(self.critic.parameters())
        if self.ema is not None:
            weights = [p.detach().clone() for p in params]
            torch._foreach_copy_(params, self.ema)
        self.critic.eval()
        val_loss, val_mi = self.evaluate(data, "val")
        self.critic.train()
        live = ~self.done  # not finalized yet: active, or diverged since the last check
        bad = self.active & ~(torch.isfinite(val_loss) & torch.isfinite(val_mi))
        self.diverged = torch.where(bad & (self.diverged < 0), step, self.diverged)
        self.active &= ~bad
        improved = self.active & (val_loss < self.best_loss)
        self.best_loss = torch.where(improved, val_loss, self.best_loss)
        self.best_mi = torch.where(improved, val_mi, self.best_mi)
        self.best_step = torch.where(improved, step, self.best_step)
        for p, best in zip(params, self.best_state):
            best[improved] = p.detach()[improved]
        if self.ema is not None:
            torch._foreach_copy_(params, weights)
        stop = self.active & ((step - self.best_step >= settings.patience) | final)
        self.active &= ~stop
        ended = live & ~self.active  # out of patience, at the last step, or diverged
        self.done |= ended
        self.stopped_step = torch.where(ended, step, self.stopped_step)
        if bool(ended.any()):
            self.freeze(ended, optimizer)
        train_loss = (self.loss_sum / steps_since).tolist()
        self.loss_sum.zero_()
        self.live = int((~self.done).sum())
        rows = []
        for r in np.flatnonzero(live.cpu().numpy()):
            rows.append({"run": self.positions[r], "step": step, "train_loss": train_loss[r],
                         "val_loss": float(val_loss[r]), "val_mi_bits": float(val_mi[r]) * LOG2E})
        return rows

    PER_RUN = ("active", "done", "diverged", "loss_sum", "best_loss", "best_mi", "best_step", "stopped_step")

    @torch.no_grad()
    def _select(self, keep: list[int], optimizer: torch.optim.Optimizer | None) -> None:
        """Keep only runs ``keep`` (sorted) in place: their parameters (and Adam moments), state and slices."""
        index = torch.tensor(keep, dtype=torch.long, device=self.active.device)
        for p in self.critic.parameters():
            p.grad = None
            p.data = p.data[index]
            state = optimizer.state.get(p, {}) if optimizer is not None else {}
            for moment in ("exp_avg", "exp_avg_sq"):
                if moment in state:
                    state[moment] = state[moment][index]
        self.best_state = [best[index] for best in self.best_state]
        if self.ema is not None:
            self.ema = [average[index] for average in self.ema]
        for name in self.PER_RUN:
            setattr(self, name, getattr(self, name)[index])
        self.runs, self.positions = [self.runs[i] for i in keep], [self.positions[i] for i in keep]
        self.streams = [self.streams[i] for i in keep]
        before = lambda end: sum(1 for i in keep if i < end)  # noqa: E731  (kept runs left of a slice bound)
        self.parts = [(est, before(a), before(b)) for est, a, b in self.parts if before(a) < before(b)]
        self.live = int((~self.done).sum())

    def split_finished(self, optimizer: torch.optim.Optimizer) -> list["RunModule"]:
        """``[finished, self]``: the finalized runs moved into a module of their own, which no longer trains or
        checks (only the final readout reads it), while this module keeps training the rest. A stopped run
        would otherwise still cost its full forward and backward at every step until the last run stops."""
        if self.live in (0, len(self.runs)):
            return [self]
        done = self.done.tolist()
        self.critic.zero_grad(set_to_none=True)  # not copied into the finished module
        finished = copy.deepcopy(self)
        finished._select([r for r, d in enumerate(done) if d], None)
        self._select([r for r, d in enumerate(done) if not d], optimizer)
        return [finished, self]


def _output(critic: dict, run: FitRun, est: estimators.Estimator) -> str:
    """The critic output the estimator needs: 'pd' (softplus, r = c > 0) for the pd parametrization."""
    wanted = est.parametrization
    if critic.get("output", wanted) != wanted:
        raise ValueError(f"critic output {critic['output']!r} does not fit estimator {run.estimator!r} with "
                         f"parametrization {wanted!r}; leave critic 'output' unset to follow the estimator")
    return wanted


def build_modules(runs: list[FitRun], data: list[Prepared], critic: dict, stream_of: list[int], batch_size: int,
                  device: torch.device) -> list[RunModule]:
    """Runs grouped by input shape and critic output in cache-sized stacked modules (``anchorbench.engine``)."""
    kwargs = {k: v for k, v in critic.items() if k not in ("type", "output")}
    outputs = [_output(critic, run, estimators.build(run.estimator, **run.hparams)) for run in runs]
    # the Gaussian base is a log-ratio: a run whose critic outputs r itself (pd) trains without it
    gaussian = [True if kwargs.get("gaussian") and out == "pmi" else None for out in outputs]
    shape = lambda r: (CriticConfig(critic["type"], **kwargs | {"gaussian": gaussian[r]}, output=outputs[r]),  # noqa: E731
                       data[runs[r].data].dx, data[runs[r].data].dy)
    bases: dict[int, dict] = {}  # split -> its Gaussian base (fit once, shared by the split's runs)
    out = []
    for module, positions in stack_runs(runs, shape, batch_size, device):
        if getattr(module, "base", None) is not None:  # a gaussian separable critic
            for r, p in enumerate(positions):
                d = runs[p].data
                if d not in bases:
                    bases[d] = fit_base(data[d].x_train, data[d].y_train, *data[d].parts["val"][:2])
                module.set_base(r, *(bases[d][k] for k in ("mean_x", "mean_y", "cross", "px", "py", "constant")))
        out.append(RunModule(module, [runs[p] for p in positions], positions, [stream_of[p] for p in positions],
                             device))
    return out


def check_critic(critic: dict) -> dict:
    """A critic dict ``{"type": ..., **settings}`` whose type exists and takes every setting given (else a
    ValueError naming the allowed types or settings)."""
    if not isinstance(critic, dict) or critic.get("type") not in CRITICS:
        raise ValueError(f"critic must be a dict with 'type' in {sorted(CRITICS)} plus build_critic keyword "
                         f"arguments, got {critic!r}")
    known = {f.name for f in dataclasses.fields(CriticConfig)} - {"type"}
    unknown = sorted(set(critic) - known - {"type"})
    if unknown:
        raise ValueError(f"critic settings {unknown} are unknown; allowed: {sorted(known)}")
    CriticConfig(**critic)  # names the settings this type does not take
    return dict(critic)


def fit_runs(splits: list[PairedSplit], runs: list[FitRun], critic: dict,
             settings: TrainSettings = TrainSettings()) -> list[FitResult]:
    """Train every run on its split; one :class:`FitResult` per run, in the order of ``runs``.

    ``critic``: ``{"type": "joint"|"separable"|"bilinear", **build_critic kwargs}``; its ``output`` follows each
    estimator's parametrization unless set. Each split is z-scored with its training rows' statistics and
    clipped to ``[-clip, clip]``. Each run keeps its state at its best validation loss.
    """
    critic = check_critic(critic)
    if not splits or not runs:
        raise ValueError("fit_runs needs at least one split and one run")
    for i, run in enumerate(runs):
        if not (isinstance(run.data, int) and 0 <= run.data < len(splits)):
            raise ValueError(f"runs[{i}].data = {run.data!r} is not an index into the {len(splits)} split(s)")
        estimators.build(run.estimator, **run.hparams)  # unknown names / hyperparameters raise here
    if len({split.has_test for split in splits}) > 1:
        raise ValueError("either every split has test rows (x_test, y_test) or none has")
    device = settings.torch_device()
    data = [Prepared(i, split, settings, device) for i, split in enumerate(splits)]

    stream_keys = sorted({(run.data, run.seed) for run in runs})
    streams = [BatchStream(data[d], seed, settings.batch_size) for d, seed in stream_keys]
    stream_of = [stream_keys.index((run.data, run.seed)) for run in runs]
    modules = build_modules(runs, data, critic, stream_of, settings.batch_size, device)
    optimizer = torch.optim.Adam([p for m in modules for p in m.critic.parameters()], lr=settings.lr,
                                 fused=device.type in ("cpu", "cuda"))

    curve: list[dict] = []
    last_check = 0
    bar = tqdm(total=settings.max_steps, desc=f"fit {len(runs)} run(s)", disable=not settings.progress,
               mininterval=1.0)
    for step in range(1, settings.max_steps + 1):
        batches = [stream.next() for stream in streams]  # one batch per (split, seed), shared by its estimators
        optimizer.zero_grad(set_to_none=True)
        for module in modules:
            if module.live:
                module.train_step(step, batches)
        optimizer.step()
        if settings.ema is not None:
            for module in modules:
                if module.live:
                    module.update_ema(step, settings.ema)
        final = step == settings.max_steps
        if step % settings.check_every == 0 or final:
            for module in modules:
                if module.live:
                    curve += module.check(step, data, settings, step - last_check, final, optimizer)
            modules = [part for module in modules for part in module.split_finished(optimizer)]
            last_check = step
            active = sum(int(m.active.sum()) for m in modules if m.live)
            bar.set_postfix(active=active)
            if active == 0:
                break
        if step % 100 == 0:
            bar.update(step - bar.n)
    bar.update(step - bar.n)
    bar.close()
    return _results(runs, modules, data, critic, curve)


def _readout(module: RunModule, data: list[Prepared]) -> list[float]:
    """Each run's MI readout (nats) at its best state on the rows its split reads out on: the test rows, where
    given (rows early stopping never saw), else the validation readout recorded at the best check."""
    if data[module.runs[0].data].readout == "val":
        return module.best_mi.tolist()
    module.critic.eval()  # every run is frozen at its best state by now
    return module.evaluate(data, "test")[1].tolist()


def _results(runs: list[FitRun], modules: list[RunModule], data: list[Prepared], critic: dict,
             curve: list[dict]) -> list[FitResult]:
    frame = pd.DataFrame(curve, columns=["run", "step", "train_loss", "val_loss", "val_mi_bits"])
    results: list[FitResult | None] = [None] * len(runs)
    for m in modules:
        kwargs = {k: v for k, v in critic.items() if k != "type"}
        kwargs["output"] = m.critic.output if hasattr(m.critic, "output") else kwargs.get("output", "pmi")
        best_mi, best_step, readout = m.best_mi.tolist(), m.best_step.tolist(), _readout(m, data)
        stopped, diverged = m.stopped_step.tolist(), m.diverged.tolist()
        for r, position in enumerate(m.positions):
            run, d = runs[position], data[runs[position].data]
            single = build_critic(critic["type"], 1, d.dx, d.dy, **kwargs)
            with torch.no_grad():
                for p, best in zip(single.parameters(), m.best_state):
                    p.copy_(best[r:r + 1])
            single.eval()
            mi, val_mi = (math.nan, math.nan) if diverged[r] >= 0 else (readout[r], best_mi[r])
            results[position] = FitResult(
                run=run, mi_nats=mi, mi_bits=mi * LOG2E, readout=d.readout, val_mi_nats=val_mi,
                best_step=best_step[r], stopped_step=stopped[r],
                diverged_step=diverged[r] if diverged[r] >= 0 else None,
                curve=frame[frame.run == position].drop(columns="run").reset_index(drop=True),
                critic=single, estimator=estimators.build(run.estimator, **run.hparams), standardize=(d.sx, d.sy))
    return results
