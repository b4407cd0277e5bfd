"""Turn validated params into training groups: runs that share a critic shape train together.

A :class:`GroupSpec` is one domain, one critic configuration, one schedule and every (estimator,
seed) run that fits it. It is frozen and made of plain values, so Prefect can hash it as a cache key.
"""

from __future__ import annotations

from dataclasses import dataclass

import estimators
from anchorbench.engine import resolve_device
from anchorbench.mi_benchmark.config import MIBenchmarkParams
from anchorbench.mi_benchmark.engine import RunSpec, Schedule
from estimators.critics import CriticConfig

# Hyperparameters Optuna may tune that belong to the critic rather than the estimator.
CRITIC_KEYS = ("temperature", "width")


@dataclass(frozen=True)
class GroupSpec:
    """One batched training group of the MI benchmark."""

    domain: str  # gaussian | mnist | imdb_bert
    domain_kwargs: tuple[tuple[str, object], ...]  # build_domain settings, sorted (hashable)
    critic: CriticConfig
    runs: tuple[RunSpec, ...]
    schedule: Schedule
    batch_size: int
    lr: float
    device: str  # resolved: cpu | cuda
    precision: str  # fp32 | bf16

    @property
    def name(self) -> str:
        """Readable name for task runs and progress bars, e.g. ``mnist-joint-w64-R18``."""
        width = f"-w{self.critic.width}" if self.critic.width is not None else ""
        return f"{self.domain}-{self.critic.type}{width}-R{len(self.runs)}"


def critic_config(p: MIBenchmarkParams, kind: str, **overrides) -> CriticConfig:
    """The critic of type ``kind`` from the params, with tuned ``overrides`` (width, temperature) that apply."""
    if kind == "joint":
        settings = {"width": p.width, "depth": p.depth}
    elif kind == "separable":
        settings = {"width": p.width, "depth": p.depth, "embed": p.embed, "temperature": p.temperature}
    else:
        settings = {}
    return CriticConfig(kind, **(settings | {k: v for k, v in overrides.items() if k in settings}))


def domain_config(p: MIBenchmarkParams, name: str) -> tuple[tuple[str, object], ...]:
    if name == "gaussian":
        settings = {"dim": p.gaussian_dim, "transform": p.gaussian_transform}
    elif name == "mnist":
        settings = {"sources": p.sources, "img_size": p.img_size}
    else:
        settings = {"sources": p.sources}
    return tuple(sorted(settings.items()))


def split_tuned(estimator: str, best: dict) -> tuple[dict, dict]:
    """Split tuned values into (estimator hyperparameters, critic overrides)."""
    accepted = set(estimators.hyperparameters(estimator))
    return ({k: v for k, v in best.items() if k in accepted},
            {k: v for k, v in best.items() if k in CRITIC_KEYS})


def make_group(p: MIBenchmarkParams, domain: str, critic: CriticConfig, runs: list[RunSpec],
               steps_per_level: int) -> GroupSpec:
    return GroupSpec(domain, domain_config(p, domain), critic, tuple(runs),
                     Schedule(tuple(p.levels_bits), steps_per_level), p.batch_size, p.lr,
                     resolve_device(p.device, "mi_benchmark.device").type, p.precision)


def study_key(label: str, domain: str, critic: str) -> str:
    """The tune stage's key of the study of estimator ``label`` on ``domain`` with a ``critic`` critic."""
    return f"{label}-{domain}-{critic}"


def plan_groups(p: MIBenchmarkParams, tuned: dict | None = None, seeds: list[int] | None = None,
                tuned_domain: str = "gaussian") -> list[GroupSpec]:
    """Groups for every domain x critic type; runs with tuned critic settings get their own group.

    ``tuned`` is best_params.json, ``{study key: {nu, temperature, width}}``, of studies on ``tuned_domain``.
    """
    tuned = tuned or {}
    seeds = list(range(p.seeds)) if seeds is None else seeds
    runs_by_group: dict[tuple[str, CriticConfig], list[RunSpec]] = {}
    for domain in p.domains:
        for kind in p.critics:
            for label in p.estimators:
                est, hparams = estimators.parse_label(label)
                critic = critic_config(p, kind)
                best = tuned.get(study_key(label, tuned_domain, kind))
                if best:
                    extra_hp, extra_critic = split_tuned(est, best)
                    hparams |= extra_hp
                    critic = critic_config(p, kind, **extra_critic)
                runs = [RunSpec(est, s, hparams, label) for s in seeds]
                runs_by_group.setdefault((domain, critic), []).extend(runs)
    return [make_group(p, domain, critic, runs, p.steps_per_level) for (domain, critic), runs in runs_by_group.items()]
