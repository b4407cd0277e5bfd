"""Optuna studies shared by every experiment's tuning: storage choice, sampler and pruner."""

from __future__ import annotations

from typing import Literal

import optuna


def open_study(name: str, storage: str, seed: int,
               direction: Literal["minimize", "maximize"] = "minimize") -> optuna.Study:
    """Create or resume (load_if_exists) a study with a seeded TPE sampler and median pruning.

    ``storage`` is an RDB URL (``sqlite:///...``, ``postgresql://...``) or a ``*.log`` journal file
    (many processes on one node or NFS).
    """
    if storage.endswith(".log"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        storage = JournalStorage(JournalFileBackend(storage))
    return optuna.create_study(study_name=name, storage=storage, load_if_exists=True, direction=direction,
                               sampler=optuna.samplers.TPESampler(seed=seed),
                               pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))
