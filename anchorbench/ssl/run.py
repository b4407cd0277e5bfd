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
from anchorbench.ssl.cdp import ATTRIBUTES, VALUES, CDPSampler, shared_columns, true_mi_bits
from anchorbench.ssl.config import RANDOM_INIT, SSLParams
from anchorbench.ssl.encoders import init_encoder
from anchorbench.ssl.posttrain import post_training_mi
from anchorbench.ssl.pretrain import PretrainConfig, pretrain
from anchorbench.ssl.probe import features, linear_probes

Tensor = torch.Tensor


@dataclass(frozen=True)
class SSLUnit:
    """One encoder: objective (a label, or ``RANDOM_INIT`` for the untrained baseline), pairing, batch size, seed,
    the tau / nu it trains with (nu None: the objective takes none, or its label fixes it; both None for the
    baseline) and its pretraining steps (0 for the baseline)."""

    objective: str
    pairing: str
    batch_size: int
    seed: int
    tau: float | None
    nu: float | None
    steps: int

    @property
    def name(self) -> str:
        return f"{slug(self.objective)}-{self.pairing}-B{self.batch_size}-s{self.seed}"


def plan_units(p: SSLParams, seeds: list[int] | None = None, tuned: dict | None = None) -> list[SSLUnit]:
    """Every (objective, pairing, seed) at the training batch size, seed 001's small-batch runs (at equal pairs seen:
    ``SSLParams.steps_at``) and the untrained baseline per (pairing, seed). ``tuned``: ``{objective: {"tau": ..,
    "nu": ..}}`` from the ssl_tune stage replaces those objectives' tau and nu."""
    seeds = list(range(p.seeds)) if seeds is None else seeds
    tuned = tuned or {}

    def unit(o: str, g: str, s: int, batch: int) -> SSLUnit:
        best, nu = tuned.get(o, {}), p.nu_of(o)
        return SSLUnit(o, g, batch, s, float(best.get("tau", p.tau(o))), nu if nu is None else best.get("nu", nu),
                       p.steps_at(batch))

    units = [unit(o, g, s, p.batch_size) for g in p.pairings for o in p.objectives for s in seeds]
    if p.small_batch and p.small_batch != p.batch_size:
        units += [unit(o, g, s, p.small_batch) for g in p.pairings if g != "aug" for o in p.small_batch_objectives
                  for s in seeds]
    if p.random_init:
        units += [SSLUnit(RANDOM_INIT, g, p.batch_size, s, None, None, 0) for g in p.pairings for s in seeds]
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


def probe_targets(pairing: str) -> dict[str, list[int]]:
    """CDP probe targets, name suffix -> attribute columns. The headline (suffix "") is the joint probe of the
    pairing's shared attributes (c: 4-way colour, cd: 16-way, cdp: 64-way; all three for ``aug``): it does not score
    the attributes a pairing is meant to discard. Beside it: one probe per attribute and the 64-way joint."""
    headline = shared_columns(pairing) if pairing != "aug" else list(range(len(ATTRIBUTES)))
    return {"": headline, **{f"_{name}": [k] for k, name in enumerate(ATTRIBUTES)}, "_joint": [0, 1, 2]}


def _joint_class(attrs: Tensor, columns: list[int]) -> Tensor:
    """``[N, 3]`` attributes -> ``[N]`` class of the tuple ``attrs[:, columns]`` (base ``VALUES``)."""
    out = torch.zeros(len(attrs), dtype=torch.long, device=attrs.device)
    for k in columns:
        out = out * VALUES + attrs[:, k]
    return out


def probe_scores(encoder: torch.nn.Module, data: Data, eval_split: str, steps: int, lr: float,
                 pairing: str) -> dict[str, float]:
    """Linear-probe accuracies on ``eval_split`` (val or test) of probes trained on the train split.

    CDP (:func:`probe_targets`): ``top1``, ``top5`` of the headline probe, ``top1_<attribute>`` per attribute,
    ``top1_joint``, ``top5_joint`` of the 64-way joint probe (probes of equal columns are fitted once).
    CIFAR-100: one 100-way probe (``top1``, ``top5``).
    """
    (train_x, train_y), (eval_x, eval_y) = data.probe["train"], data.probe[eval_split]
    f_train, f_eval = features(encoder, train_x), features(encoder, eval_x)
    train_y, eval_y = train_y.to(f_train.device), eval_y.to(f_train.device)
    if data.dataset != "cdp":
        return linear_probes(f_train, train_y[:, None], f_eval, eval_y[:, None], [100], steps, lr)[0]
    targets = probe_targets(pairing)
    distinct = list(dict.fromkeys(tuple(cols) for cols in targets.values()))
    labels = [torch.stack([_joint_class(y, list(cols)) for cols in distinct], 1) for y in (train_y, eval_y)]
    scores = dict(zip(distinct, linear_probes(f_train, labels[0], f_eval, labels[1],
                                              [VALUES ** len(cols) for cols in distinct], steps, lr)))
    out = {}
    for suffix, cols in targets.items():
        out[f"top1{suffix}"] = scores[tuple(cols)]["top1"]
        if len(cols) > 1 or not suffix:
            out[f"top5{suffix}"] = scores[tuple(cols)]["top5"]
    return out


def _pretrain(p: SSLParams, unit: SSLUnit, data: Data, folder: Path) -> tuple[torch.nn.Module | None, dict]:
    """Pretrain ``unit`` and write its loss curve into ``folder``: its encoder (None if it diverged) and its row's
    in-training numbers."""
    cfg = PretrainConfig(objective=unit.objective, batch_size=unit.batch_size, steps=unit.steps, tau=unit.tau,
                         nu=unit.nu, lr=p.lr, weight_decay=p.weight_decay, encoder=p.encoder, width=p.width,
                         proj_hidden=p.proj_hidden, proj_dim=p.proj_dim, pd_critic_lr=p.pd_critic_lr, seed=unit.seed)
    result = pretrain(cfg, lambda n, g: data.pairs(unit.pairing, n, g), data.device)
    tail = max(1, unit.steps // 10)  # in-training MI: the readout averaged over the last tenth of the steps
    write_json(folder / "curve.json", {"loss": result.loss, "mi_nats": result.mi_nats})
    return None if result.diverged_step is not None else result.encoder, {
        "diverged_step": result.diverged_step, "train_mi_bits": float(np.mean(result.mi_nats[-tail:])) / math.log(2),
        "train_cap_bits": result.cap_nats / math.log(2), "train_cap": result.cap,
        "final_loss": float(np.mean(result.loss[-tail:])), "files": {"curve": f"units/{unit.name}/curve.json"}}


def run_unit(p: SSLParams, unit: SSLUnit, data: Data, out_dir: str | Path, eval_split: str = "test",
             post_mi: bool = True) -> dict:
    """Pretrain (none for the baseline), probe and (optionally) estimate post-training MI for one unit; write its
    loss curve and, unless it diverged, its encoder to ``<out_dir>/units/<name>/``; return its numbers (``files``:
    the paths written, relative to ``out_dir``; ``seconds``: wall time per part). A diverged unit gets no encoder,
    probe or post-training MI: it is recorded as failed."""
    marks = [("start", time.perf_counter())]  # (part just finished, when)
    folder = Path(out_dir) / "units" / unit.name
    row = {**asdict(unit), "name": unit.name, "files": {}, "diverged_step": None,
           "true_mi_bits": true_mi_bits(unit.pairing) if unit.pairing != "aug" else math.nan}
    if unit.objective == RANDOM_INIT:
        encoder = init_encoder(p.encoder, p.width, unit.seed, data.device)  # where the seed's trained units start
    else:
        encoder, numbers = _pretrain(p, unit, data, folder)
        row |= numbers
    marks.append(("pretrain", time.perf_counter()))
    if encoder is not None:
        with atomic_path(folder / "encoder.pt") as tmp, open(tmp, "wb") as fh:
            torch.save(encoder.state_dict(), fh)  # a file object: the archive's inner name is fixed
        row["files"]["encoder"] = f"units/{unit.name}/encoder.pt"
        row["probe"] = probe_scores(encoder, data, eval_split, p.probe_steps, p.probe_lr, unit.pairing)
        marks.append(("probe", time.perf_counter()))
        if post_mi:
            row["post_mi_bits"] = _post_mi(p, unit, data, encoder)
            marks.append(("post_mi", time.perf_counter()))
    row["seconds"] = {part: t - before for (_, before), (part, t) in zip(marks, marks[1:])} | {
        "total": marks[-1][1] - marks[0][1]}
    return row


def _post_mi(p: SSLParams, unit: SSLUnit, data: Data, encoder: torch.nn.Module) -> dict[str, float]:
    """Post-training MI of ``unit``'s frozen encoder: the critic fits pairs of training glyphs, stops early on pairs
    of held-out glyphs and is read on a second draw of held-out pairs (rows early stopping never saw)."""
    generator = torch.Generator(device=data.device).manual_seed(10_000 + unit.seed)  # pairs unseen in pretraining
    held_out = max(p.post_batch_size, p.post_pairs // 4)
    train = data.pairs(unit.pairing, p.post_pairs, generator)
    val, test = (data.pairs(unit.pairing, held_out, generator, held_out=True) for _ in range(2))
    settings = TrainSettings(batch_size=p.post_batch_size, lr=p.post_lr, max_steps=p.post_steps,
                             patience=max(1, p.post_steps // 3), check_every=max(1, p.post_steps // 10),
                             device=data.device.type, progress=False)
    return post_training_mi(encoder, train, val, test, list(p.post_estimators), dict(p.post_critic), settings,
                            unit.seed)
