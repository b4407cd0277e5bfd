"""Turn validated params into training groups: runs that share a critic shape train together.

A group is a plain, JSON-able dict (hashable by Prefect's input cache): one domain, one critic
configuration, and every (estimator, seed) run that fits it.
"""

from __future__ import annotations

import inspect

import torch

import estimators
from anchorbench.config import MIBenchmarkParams

# Hyperparameters Optuna may tune that belong to the critic rather than the estimator.
CRITIC_KEYS = {"temperature": "tau", "width": "width"}


def resolve_device(device: str) -> str:
    """``auto`` -> cuda when present, else cpu; ``cuda`` without a GPU is an error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("mi_benchmark.device is 'cuda' but no CUDA GPU is visible; use 'auto' or 'cpu'")
    return device


def critic_config(p: MIBenchmarkParams, kind: str) -> dict:
    """Keyword arguments of estimators.build_critic for critic type ``kind``."""
    if kind == "joint":
        return {"type": "joint", "width": p.width, "depth": p.depth}
    if kind == "separable":
        return {"type": "separable", "width": p.width, "depth": p.depth, "embed": p.embed, "tau": p.temperature}
    return {"type": "bilinear"}


def domain_config(p: MIBenchmarkParams, name: str) -> dict:
    if name == "gaussian":
        return {"dim": p.gaussian_dim, "transform": p.gaussian_transform}
    if name == "mnist":
        return {"sources": p.sources, "img_size": p.img_size}
    return {"sources": p.sources}


def split_tuned(estimator: str, best: dict) -> tuple[dict, dict]:
    """Split tuned values into (estimator hyperparameters, critic overrides)."""
    accepted = set(inspect.signature(type(estimators.build(estimator)).__init__).parameters)
    hparams = {k: v for k, v in best.items() if k in accepted}
    critic = {CRITIC_KEYS[k]: v for k, v in best.items() if k in CRITIC_KEYS}
    return hparams, critic


def plan_groups(p: MIBenchmarkParams, tuned: dict | None = None, seeds: list[int] | None = None) -> list[dict]:
    """Groups for every domain x critic type; runs with tuned critic settings get their own group.

    ``tuned`` is best_params.json: ``{"studies": {critic: {estimator: {nu, temperature, width}}}}``.
    """
    tuned = tuned if (tuned and p.use_tuned) else {}
    seeds = list(range(p.seeds)) if seeds is None else seeds
    device = resolve_device(p.device)
    groups: dict[str, dict] = {}
    for domain in p.domains:
        for kind in p.critics:
            for est in p.estimators:
                hparams, critic = p.hparams(est), critic_config(p, kind)
                best = tuned.get("studies", {}).get(kind, {}).get(est)
                if best:
                    extra_hp, extra_critic = split_tuned(est, best)
                    hparams |= extra_hp
                    critic |= {k: v for k, v in extra_critic.items() if k in critic}
                key = f"{domain}|{sorted(critic.items())}"
                group = groups.setdefault(key, {
                    "domain": domain, "domain_kwargs": domain_config(p, domain), "critic": critic,
                    "critic_name": kind, "runs": [], "levels_bits": list(p.levels_bits),
                    "steps_per_level": p.steps_per_level, "batch_size": p.batch_size, "lr": p.lr,
                    "device": device, "precision": p.precision})
                group["runs"] += [{"estimator": est, "seed": s, "hparams": hparams} for s in seeds]
    return list(groups.values())
