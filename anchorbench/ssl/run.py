"""One unit of the SSL experiment: pretrain (objective, pairing, seed), probe it, estimate MI after training.

``plan_units`` lists the units of a params section (:class:`SSLUnit`); ``run_unit`` runs one and writes its
heavy values (encoder checkpoint, loss curve) under ``out_dir/units/<name>/``, returning a small dict of numbers.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from anchorbench.engine import resolve_device
from anchorbench.fit import TrainSettings
from anchorbench.io import atomic_path, write_json
from anchorbench.names import slug
from anchorbench.ssl.augment import Augment
from anchorbench.ssl.cdp import ATTRIBUTES, VALUES, CDPSampler, true_mi_bits
from anchorbench.ssl.config import SSLParams
from anchorbench.ssl.posttrain import post_training_mi
from anchorbench.ssl.pretrain import PretrainConfig, pretrain
from anchorbench.ssl.probe import features, linear_probe

Tensor = torch.Tensor


@dataclass(frozen=True)
class SSLUnit:
    """One pretraining run: objective (a label), pairing, batch size, seed, and the tau / nu it trains with
    (nu None: the objective takes none, or its label fixes it)."""

    objective: str
    pairing: str
    batch_size: int
    seed: int
    tau: float
    nu: float | None

    @property
    def name(self) -> str:
        return f"{slug(self.objective)}-{self.pairing}-B{self.batch_size}-s{self.seed}"


def plan_units(p: SSLParams, seeds: list[int] | None = None, tuned: dict | None = None) -> list[SSLUnit]:
    """Every (objective, pairing, seed) at the training batch size, plus seed 001's small-batch runs. ``tuned``:
    ``{objective: {"tau": .., "nu": ..}}`` from the ssl_tune stage replaces those objectives' tau and nu."""
    seeds = list(range(p.seeds)) if seeds is None else seeds
    tuned = tuned or {}

    def unit(o: str, g: str, s: int, batch: int) -> SSLUnit:
        best, nu = tuned.get(o, {}), p.nu_of(o)
        return SSLUnit(o, g, batch, s, float(best.get("tau", p.tau(o))), nu if nu is None else best.get("nu", nu))

    units = [unit(o, g, s, p.batch_size) for g in p.pairings for o in p.objectives for s in seeds]
    if p.small_batch and p.small_batch != p.batch_size:
        units += [unit(o, g, s, p.small_batch) for g in p.pairings if g != "aug" for o in p.small_batch_objectives
                  for s in seeds]
    return units


class Data:
    """The experiment's images on the training device: pair samplers and the labelled probe splits.

    CDP: ``arrays`` from ``load_cdp`` (glyph banks, probe images and attributes). CIFAR-100: ``arrays`` with
    ``train_images``/``train_labels``/``test_images``/``test_labels`` (uint8 / int64), pairs by augmentation.
    """

    def __init__(self, dataset: str, arrays: dict[str, Tensor], device: torch.device) -> None:
        self.dataset, self.device, self.augment = dataset, device, Augment()
        if dataset == "cdp":
            self.train_glyphs = CDPSampler(arrays["glyphs_train"].to(device).float() / 255)
            self.test_glyphs = CDPSampler(arrays["glyphs_test"].to(device).float() / 255)
            self.probe = {s: (arrays[f"probe_{s}_images"], arrays[f"probe_{s}_attrs"])
                          for s in ("train", "val", "test")}
        else:
            self.images = arrays["train_images"].to(device)
            n_val = len(self.images) // 10  # the last tenth of the training images: the validation probe split
            labels = arrays["train_labels"]
            self.probe = {"train": (arrays["train_images"][:-n_val], labels[:-n_val]),
                          "val": (arrays["train_images"][-n_val:], labels[-n_val:]),
                          "test": (arrays["test_images"], arrays["test_labels"])}

    def pairs(self, pairing: str, n: int, generator: torch.Generator, held_out: bool = False) -> tuple[Tensor, Tensor]:
        """``n`` positive pairs ``([n, 3, H, W], [n, 3, H, W])`` in [0, 1]; ``held_out``: test glyphs (CDP)."""
        if self.dataset == "cdp":
            sampler = self.test_glyphs if held_out else self.train_glyphs
            if pairing != "aug":
                return sampler.pairs(n, pairing, generator)[:2]
            x = sampler.sample(n, generator)[0]
        else:
            idx = torch.randint(len(self.images), (n,), generator=generator, device=self.device)
            x = self.images[idx].float() / 255
        return self.augment(x, generator), self.augment(x, generator)


def load_data(p: SSLParams, data_dir: str | Path, mirror: str | None) -> Data:
    """The unit's images on its device: the CDP npz of the ssl_data stage, or CIFAR-100 from the mirror."""
    device = resolve_device(p.device, "ssl.device")
    if p.dataset == "cdp":
        from anchorbench.ssl.data import load_cdp

        return Data("cdp", load_cdp(data_dir), device)
    from anchorbench.ssl.cifar import load_cifar100

    arrays = {}
    for split in ("train", "test"):
        images, labels = load_cifar100(split, mirror)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = torch.from_numpy(images), torch.from_numpy(labels)
    return Data("cifar100", arrays, device)


def probe_scores(encoder: torch.nn.Module, data: Data, eval_split: str, steps: int, lr: float) -> dict[str, float]:
    """Linear-probe accuracies on ``eval_split`` (val or test) of a probe trained on the train split.

    CDP: one 4-way probe per attribute (``top1_colour`` ...) and one 64-way probe of the attribute triple
    (``top1``, ``top5``). CIFAR-100: one 100-way probe (``top1``, ``top5``).
    """
    (train_x, train_y), (eval_x, eval_y) = data.probe["train"], data.probe[eval_split]
    f_train, f_eval = features(encoder, train_x), features(encoder, eval_x)
    train_y, eval_y = train_y.to(f_train.device), eval_y.to(f_train.device)
    if data.dataset != "cdp":
        return linear_probe(f_train, train_y, f_eval, eval_y, 100, steps, lr)
    out = {}
    for k, name in enumerate(ATTRIBUTES):
        out[f"top1_{name}"] = linear_probe(f_train, train_y[:, k], f_eval, eval_y[:, k], VALUES, steps, lr)["top1"]
    joint = lambda a: (a[:, 0] * VALUES + a[:, 1]) * VALUES + a[:, 2]  # noqa: E731 - the triple as one class
    out.update(linear_probe(f_train, joint(train_y), f_eval, joint(eval_y), VALUES ** 3, steps, lr))
    return out


def run_unit(p: SSLParams, unit: SSLUnit, data: Data, out_dir: str | Path, eval_split: str = "test",
             post_mi: bool = True) -> dict:
    """Pretrain, probe and (optionally) estimate post-training MI for one unit; write its loss curve and, unless it
    diverged, its encoder to ``<out_dir>/units/<name>/``; return its numbers (``files``: the paths written,
    relative to ``out_dir``). A diverged unit gets no encoder, probe or post-training MI: it is recorded as failed."""
    start = time.perf_counter()
    cfg = PretrainConfig(objective=unit.objective, batch_size=unit.batch_size, steps=p.steps, tau=unit.tau,
                         nu=unit.nu, lr=p.lr, weight_decay=p.weight_decay, width=p.width,
                         proj_hidden=p.proj_hidden, proj_dim=p.proj_dim, seed=unit.seed)
    result = pretrain(cfg, lambda n, g: data.pairs(unit.pairing, n, g), data.device)
    tail = max(1, p.steps // 10)  # in-training MI: the readout averaged over the last tenth of the steps
    row = {**asdict(unit), "name": unit.name, "true_mi_bits": true_mi_bits(unit.pairing) if unit.pairing != "aug"
           else math.nan, "diverged_step": result.diverged_step,
           "train_mi_bits": float(np.mean(result.mi_nats[-tail:])) / math.log(2),
           "train_cap_bits": result.cap_nats / math.log(2) if result.cap_nats is not None else math.nan,
           "final_loss": float(np.mean(result.loss[-tail:]))}
    folder = Path(out_dir) / "units" / unit.name
    write_json(folder / "curve.json", {"loss": result.loss, "mi_nats": result.mi_nats})
    row["files"] = {"curve": f"units/{unit.name}/curve.json"}
    if result.diverged_step is None:
        with atomic_path(folder / "encoder.pt") as tmp, open(tmp, "wb") as fh:
            torch.save(result.encoder.state_dict(), fh)  # a file object: the archive's inner name is fixed
        row["files"]["encoder"] = f"units/{unit.name}/encoder.pt"
        row["probe"] = probe_scores(result.encoder, data, eval_split, p.probe_steps, p.probe_lr)
        if post_mi:
            row["post_mi_bits"] = _post_mi(p, unit, data, result.encoder)
    row["seconds"] = time.perf_counter() - start
    return row


def _post_mi(p: SSLParams, unit: SSLUnit, data: Data, encoder: torch.nn.Module) -> dict[str, float]:
    generator = torch.Generator(device=data.device).manual_seed(10_000 + unit.seed)  # pairs unseen in pretraining
    train = data.pairs(unit.pairing, p.post_pairs, generator)
    val = data.pairs(unit.pairing, max(p.post_batch_size, p.post_pairs // 4), generator, held_out=True)
    settings = TrainSettings(batch_size=p.post_batch_size, lr=p.post_lr, max_steps=p.post_steps,
                             patience=max(1, p.post_steps // 3), check_every=max(1, p.post_steps // 10),
                             device=data.device.type, progress=False)
    return post_training_mi(encoder, train, val, list(p.post_estimators), dict(p.post_critic), settings, unit.seed)
