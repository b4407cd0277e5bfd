"""Contrastive pretraining of a ResNet-18 + projection head with one of the five objectives."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from tqdm import tqdm

from anchorbench.ssl.objectives import build_objective, cosine_scores, in_training_cap
from anchorbench.ssl.resnet import ResNet18, projection_head

Tensor = torch.Tensor
# draws B positive pairs (view 1, view 2), each [B, 3, H, W], from a generator on the training device
PairSampler = Callable[[int, torch.Generator], tuple[Tensor, Tensor]]
CHECK_EVERY = 10  # steps between divergence checks (a check syncs with the device; a diverged run stops there)


@dataclass(frozen=True)
class PretrainConfig:
    objective: str  # an estimator label (anchorbench.ssl.objectives)
    batch_size: int
    steps: int
    tau: float
    nu: float | None = 1.0  # None: the objective takes no nu, or its label fixes it
    lr: float = 1e-3
    weight_decay: float = 1e-6
    width: int = 8
    proj_hidden: int = 256
    proj_dim: int = 64
    seed: int = 0


@dataclass
class PretrainResult:
    encoder: ResNet18
    head: nn.Module
    loss: list[float] = field(default_factory=list)  # per step trained
    mi_nats: list[float] = field(default_factory=list)  # in-training readout of the objective, per step trained
    diverged_step: int | None = None  # the first step whose loss was not finite; training stopped at most
    # CHECK_EVERY - 1 steps later, and the encoder is that of a diverged run (never to be used)
    cap_nats: float | None = None  # log K for InfoNCE-type readouts, else None


def pretrain(cfg: PretrainConfig, sample_pairs: PairSampler, device: torch.device, progress: bool = False
             ) -> PretrainResult:
    """Train encoder + head for ``cfg.steps`` steps; a non-finite loss stops the run (recorded as diverged): the
    losses are checked every ``CHECK_EVERY`` steps, so the loop syncs with the device that often, not per step."""
    torch.manual_seed(cfg.seed)  # the network init
    generator = torch.Generator(device=device).manual_seed(cfg.seed)  # the data and the augmentations
    encoder = ResNet18(cfg.width).to(device)
    head = projection_head(encoder.feature_dim, cfg.proj_hidden, cfg.proj_dim).to(device)
    params = list(encoder.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    est = build_objective(cfg.objective, cfg.batch_size, cfg.nu)
    B = cfg.batch_size
    losses, readouts = [], []
    encoder.train(), head.train()
    for step in tqdm(range(cfg.steps), desc=f"pretrain {cfg.objective}", disable=not progress, leave=False):
        x1, x2 = sample_pairs(B, generator)  # [B, 3, H, W] each
        z = head(encoder(torch.cat([x1, x2])))  # [2B, P]: both views through one BatchNorm batch
        scores = cosine_scores(z[:B], z[B:], cfg.tau, est.parametrization)  # [B, B]
        loss = est.loss(scores, validate=False)  # scalar
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        readouts.append(est.estimate(scores.detach(), validate=False))
        if (step + 1) % CHECK_EVERY == 0 and not bool(torch.isfinite(torch.stack(losses[-CHECK_EVERY:])).all()):
            break  # diverged: every later step would train on NaN
    loss_curve = torch.stack(losses).cpu().tolist()  # one host sync, after the loop
    mi_curve = torch.stack(readouts).cpu().tolist()
    bad = [i for i, v in enumerate(loss_curve) if not math.isfinite(v)]
    encoder.eval(), head.eval()
    return PretrainResult(encoder, head, loss_curve, mi_curve, bad[0] if bad else None, in_training_cap(est))
