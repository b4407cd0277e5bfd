"""The LMI baseline of Gowri et al. (2024) through the ``latentmi`` package, scoring new query pairs.

``latentmi.lmi.estimate`` returns pointwise MI only for its own random validation half, so it cannot score
the held-out query grid. We use the package's own pieces instead, as Gowri et al.'s protein notebooks do:
``models.AECross`` trained by ``lmi.train`` (training rows; the validation rows only for its early stopping),
then ``ksg.out_of_sample_pmi`` (k nearest neighbours, Chebyshev) of the query latents against the TRAINING
rows' latents. Two of the reference code's problems are fixed here: the KSG reference set excludes the
validation rows (they contain the held-out positives: leakage), and the queries are z-scored with the
training statistics rather than with the query grid's own. ``lmi.train``'s own quirk is kept, since it is the
package's behaviour: its early stopper holds ``model.state_dict()`` by reference, so the "best" weights are
the latest ones.
"""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from anchorbench.fit.data import Standardizer


@dataclass(frozen=True)
class LMISettings:
    epochs: int = 300
    patience: int = 30
    latent: int = 8
    batch_size: int = 512
    lr: float = 1e-4
    k: int = 3
    clip: float = 10.0


# latentmi uses process-wide state (torch's and numpy's global generators, a module-level print): one fit at a
# time per process, so concurrent trial tasks in threads neither race nor share generator draws.
_LOCK = threading.Lock()


@contextlib.contextmanager
def _seeded(seed: int):
    """Hold the lock; seed torch's and numpy's global generators; restore numpy's afterwards."""
    with _LOCK:
        state = np.random.get_state()
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)


@contextlib.contextmanager
def _quiet(module):
    """``lmi.train`` prints a progress line per epoch even when quiet (Prefect's log_prints would log each one):
    shadow ``print`` in that module only, for the call."""
    module.print = lambda *args, **kwargs: None
    try:
        yield
    finally:
        del module.print


def _count_validation_batches(model) -> Callable[[], int]:
    """Count the model's loss calls without gradients (``lmi.train``'s validation batches); returns the counter."""
    loss, calls = model.learning_loss, [0]

    def counted(x, y):
        calls[0] += not torch.is_grad_enabled()
        return loss(x, y)

    model.learning_loss = counted
    return lambda: calls[0]


def lmi_pmi_grid(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                 x_query: np.ndarray, y_query: np.ndarray, settings: LMISettings, seed: int) -> tuple[np.ndarray, int]:
    """LMI's PMI (nats) of every query pair ``x_query[m], y_query[k] -> [m, k]`` and the epochs it trained.

    Rows are ``[n, d]`` raw embeddings; whitening statistics come from the training rows only.
    """
    from latentmi import ksg, lmi, models

    sx = Standardizer.fit("x_train", x_train, settings.clip)
    sy = Standardizer.fit("y_train", y_train, settings.clip)
    xt, yt, xv, yv = sx(x_train), sy(y_train), sx(x_val), sy(y_val)
    with _seeded(seed), _quiet(lmi):
        model = models.AECross(xt.shape[1], yt.shape[1], settings.latent)
        validations = _count_validation_batches(model)
        lmi.train(model, xt, yt, xv, yv, batch_size=settings.batch_size, lr=settings.lr, epochs=settings.epochs,
                  patience=settings.patience, quiet=True)
        epochs = validations() // math.ceil(len(xv) / settings.batch_size)  # one validation pass per epoch
        model.eval()
        with torch.no_grad():
            zx, zy = (z.numpy() for z in model.encode(xt, yt))  # [n, latent] reference latents
            qx, qy = (z.numpy() for z in model.encode(sx(x_query), sy(y_query)))  # [m, latent], [k, latent]
        m, k = len(qx), len(qy)
        est_x, est_y = np.repeat(qx, k, axis=0), np.tile(qy, (m, 1))  # pair (a, b) at row a * k + b
        bits = ksg.out_of_sample_pmi(np.nan_to_num(zx), np.nan_to_num(zy), np.nan_to_num(est_x),
                                     np.nan_to_num(est_y), k=settings.k, base=2)
    return bits.reshape(m, k) * math.log(2.0), epochs
