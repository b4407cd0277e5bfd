"""Contrastive pretraining of an encoder + projection head with one of the five objectives."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from tqdm import tqdm

from anchorbench.ssl.encoders import init_encoder
from anchorbench.ssl.objectives import CosineCritic, build_objective, readout_cap
from anchorbench.ssl.resnet import projection_head

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
    encoder: str = "resnet18"  # anchorbench.ssl.encoders.ENCODERS
    width: int = 8
    proj_hidden: int = 256
    proj_dim: int = 64
    pd_critic_lr: float = 0.05  # Adam lr of a PD critic's scale and shift (CosineCritic)
    seed: int = 0


@dataclass
class PretrainResult:
    encoder: nn.Module
    head: nn.Module
    critic: CosineCritic
    loss: list[float] = field(default_factory=list)  # per step trained
    mi_nats: list[float] = field(default_factory=list)  # in-training readout of the objective, per step trained
    diverged_step: int | None = None  # the first step whose loss was not finite; training stopped at most
    # CHECK_EVERY - 1 steps later, and the encoder is that of a diverged run (never to be used)
    cap_nats: float = math.nan  # the largest value the readout can take (objectives.readout_cap)
    cap: str = ""  # what the cap is


def _optimizer(cfg: PretrainConfig, networks: list[nn.Module], critic: CosineCritic) -> torch.optim.Optimizer:
    """AdamW on the encoder and head; the PD critic's two scalars at their own lr and without weight decay (a decay
    towards a = 0, b = 0 would pull the critic to scale 1, not towards anything meaningful)."""
    groups = [{"params": [p for n in networks for p in n.parameters()]}]
    if list(critic.parameters()):
        groups.append({"params": list(critic.parameters()), "lr": cfg.pd_critic_lr, "weight_decay": 0.0})
    return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)


def pretrain(cfg: PretrainConfig, sample_pairs: PairSampler, device: torch.device, progress: bool = False
             ) -> PretrainResult:
    """Train encoder + head (+ a PD critic's scale and shift) for ``cfg.steps`` steps; a non-finite loss stops the run
    (recorded as diverged): the losses are checked every ``CHECK_EVERY`` steps, so the loop syncs with the device
    that often, not per step."""
    encoder = init_encoder(cfg.encoder, cfg.width, cfg.seed, device)
    head = projection_head(encoder.feature_dim, cfg.proj_hidden, cfg.proj_dim).to(device)
    generator = torch.Generator(device=device).manual_seed(cfg.seed)  # the data and the augmentations
    est = build_objective(cfg.objective, cfg.batch_size, cfg.nu)
    critic = CosineCritic(cfg.tau, est.parametrization).to(device)
    optimizer = _optimizer(cfg, [encoder, head], critic)
    B = cfg.batch_size
    losses, readouts = [], []
    encoder.train(), head.train()
    for step in tqdm(range(cfg.steps), desc=f"pretrain {cfg.objective}", disable=not progress, leave=False):
        x1, x2 = sample_pairs(B, generator)  # [B, 3, H, W] each
        z = head(encoder(torch.cat([x1, x2])))  # [2B, P]: both views through one BatchNorm batch
        scores = critic(z[:B], z[B:])  # [B, B]
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
    cap_nats, cap = readout_cap(est, critic, B)
    return PretrainResult(encoder, head, critic, loss_curve, mi_curve, bad[0] if bad else None, cap_nats, cap)
