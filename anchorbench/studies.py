"""Optuna studies shared by every experiment's tuning: storage, sampler, pruner, heartbeat and the worker loop.

Any number of worker processes may run ``run_trials`` on one study (one RDB storage or one journal file); together
they finish it with exactly ``n_trials`` counted trials. A trial counts when it is complete, pruned, or failed by
its own objective (a diverged run: user attr ``error``); it does not count when its worker died (the heartbeat
fails it and a retry with its params takes its place) or when it was closed unrun as surplus.

Exact stop: right after Optuna creates a trial (so every worker sees it as RUNNING), the trial counts the counted
trials plus the RUNNING trials numbered below it; if that already reaches ``n_trials`` another worker holds the last
slot, and the trial is closed unrun as FAIL with user attr ``surplus``. Trial numbers follow creation order (Optuna
numbers them under a row lock), so at most ``n_trials`` trials can count, and the loop runs until ``n_trials`` do.
Each trial carries user attr ``worker`` (host, pid, heartbeat on?); a RUNNING trial without it that started over
``UNTAGGED_SECONDS`` ago predates this loop (a run killed before heartbeats existed) and holds no slot.
"""

from __future__ import annotations

import os
import random
import socket
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from typing import Literal

import optuna
from optuna.exceptions import ExperimentalWarning, StorageInternalError
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import FrozenTrial, TrialState

HEARTBEAT_SECONDS = 60  # a RUNNING trial without a heartbeat for 2x this long is failed (its worker died) and retried
TRIAL_RETRIES = 2  # how often one trial's params are retried after its worker died
SURPLUS = "surplus"  # user attr: closed unrun, another worker took the study's last slot
ERROR = "error"  # user attr: the objective raised one of the caught exceptions (the trial counts)
WORKER = "worker"  # user attr: {"host", "pid", "heartbeat"} of the process running the trial
UNTAGGED_SECONDS = 60  # a RUNNING trial gets its worker attr within milliseconds; older and untagged: orphaned


class Surplus(RuntimeError):
    """Another worker already holds the study's last trial slot."""


def open_storage(storage: str, heartbeat_seconds: int | None = HEARTBEAT_SECONDS, retries: int = TRIAL_RETRIES):
    """An RDB storage (``sqlite:///...``, ``postgresql://...``) with a heartbeat: trials of a killed worker are
    failed after ``2 * heartbeat_seconds`` and retried up to ``retries`` times (``None``: no heartbeat). A
    ``*.log`` path is a journal file (many processes on one node or NFS); Optuna 5's journal storage has no
    heartbeat, so there a killed worker's trial stays RUNNING and does not count."""
    if storage.endswith(".log"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(storage))
    from sqlalchemy.exc import DatabaseError

    # sqlite: wait up to a minute for another worker's write lock instead of failing with "database is locked"
    engine = {"connect_args": {"timeout": 60}} if storage.startswith("sqlite") else {}
    for attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                return RDBStorage(storage, engine_kwargs=engine, heartbeat_interval=heartbeat_seconds,
                                  heartbeat_stale_trial_callback=(RetryHeartbeatStaleTrialCallback(max_retry=retries)
                                                                  if heartbeat_seconds else None))
        except (DatabaseError, StorageInternalError):
            if attempt == 4:
                raise
            # workers creating a new database's tables at once: one wins, the others find the tables next time
            time.sleep(0.2 + random.random())


def open_study(name: str, storage: str, seed: int, direction: Literal["minimize", "maximize"] = "minimize",
               heartbeat_seconds: int | None = HEARTBEAT_SECONDS, retries: int = TRIAL_RETRIES) -> optuna.Study:
    """Create or resume (load_if_exists) a study with a seeded TPE sampler and median pruning, on
    ``open_storage(storage, heartbeat_seconds, retries)``."""
    return optuna.create_study(study_name=name, storage=open_storage(storage, heartbeat_seconds, retries),
                               load_if_exists=True, direction=direction,
                               sampler=optuna.samplers.TPESampler(seed=seed),
                               pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))


def study_for(params, key: str, profile: str) -> optuna.Study:
    """The study ``<study_name>-<key>-<profile>`` of a tuning section's ``study`` block
    (``anchorbench.sections.StudyParams``): created, or resumed and joined."""
    from anchorbench import paths

    return open_study(f"{params.study_name}-{key}-{profile}", paths.optuna_storage(params.storage),
                      params.sampler_seed, params.direction, params.heartbeat_seconds, params.trial_retries)


def state_counts(study: optuna.Study) -> dict[str, int]:
    """How many trials are in each state: ``{"complete": n, "pruned": n, "fail": n, ...}``."""
    return {s.name.lower(): sum(t.state == s for t in study.trials) for s in TrialState}


def counts(trial: FrozenTrial) -> bool:
    """Whether a finished trial uses up one of the study's ``n_trials``."""
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        trial.state == TrialState.FAIL and ERROR in trial.user_attrs)


def holds_slot(trial: FrozenTrial, now: datetime) -> bool:
    """Whether a RUNNING trial holds one of the study's slots (not an orphan from before this loop)."""
    return trial.state == TrialState.RUNNING and (
        WORKER in trial.user_attrs or (now - (trial.datetime_start or now)).total_seconds() < UNTAGGED_SECONDS)


def run_trials(study: optuna.Study, objective: Callable[[optuna.Trial], float], n_trials: int,
               catch: tuple[type[Exception], ...] = (), poll_seconds: float = 1.0) -> int:
    """Run trials in this process until the study holds ``n_trials`` counted trials (see the module docstring);
    return how many trials this process started (surplus ones included). Exceptions in ``catch`` fail the trial
    (it counts); others propagate.

    While the last open slots are RUNNING in other workers, this worker waits (polling every ``poll_seconds``)
    so that a killed worker's trial, failed by the heartbeat and re-queued, is still run (a rerun after a kill
    waits up to ``2 * heartbeat_seconds`` for it). Without a heartbeat (journal storage) it returns instead: a
    dead worker's trial cannot be told from a slow one there.
    """
    heartbeat = study._storage.get_heartbeat_interval() if hasattr(study._storage, "get_heartbeat_interval") else None
    ran = 0

    def guarded(trial: optuna.Trial) -> float:
        trial.set_user_attr(WORKER, {"host": socket.gethostname(), "pid": os.getpid(), "heartbeat": bool(heartbeat)})
        others, now = study.get_trials(deepcopy=False), datetime.now()
        ahead = sum(counts(t) or (holds_slot(t, now) and t.number < trial.number) for t in others)
        if ahead >= n_trials:
            trial.set_user_attr(SURPLUS, True)
            raise Surplus(f"trial {trial.number} closed unrun: {n_trials} trials are done or running")
        try:
            return objective(trial)
        except catch as exc:
            trial.set_user_attr(ERROR, f"{type(exc).__name__}: {exc}"[:500])
            raise

    while True:
        trials, now = study.get_trials(deepcopy=False), datetime.now()
        done = sum(map(counts, trials))
        running = [t for t in trials if holds_slot(t, now)]
        if done >= n_trials:
            return ran
        if done + len(running) >= n_trials:
            # wait only where a dead worker's trial would be failed and retried: a heartbeat here and there
            if not heartbeat or any(t.user_attrs.get(WORKER, {}).get("heartbeat") is False for t in running):
                return ran
            time.sleep(poll_seconds)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                fail_stale_trials(study)  # a dead worker's trial: FAIL, and its retry is queued as WAITING
            continue
        study.optimize(guarded, n_trials=1, catch=(*catch, Surplus), gc_after_trial=True)
        ran += 1
