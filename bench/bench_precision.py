"""How far bf16 autocast moves MI estimates from fp32, against the noise floor of the comparison.

Training is chaotic: two fp32 runs whose learning rates differ by one part in a million already
end a level at different estimates. So this script trains the same runs (same seeds, data and
init) three times on each domain: fp32, fp32 with lr * (1 + 1e-6) (the noise floor), and bf16;
and reports, per estimator and level, the mean over seeds of each variant's difference from fp32
(last quarter of each level, bits). bf16 is only worth turning on where its column is as small
as the noise floor's.

    .venv/bin/python -m bench.bench_precision                  # default-profile scale, ~20 min on 2 cores
    .venv/bin/python -m bench.bench_precision --domains gaussian --seeds 2 --steps-per-level 60
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch

from anchorbench.mi_benchmark.domains import build_domain
from anchorbench.mi_benchmark.engine import RunSpec, Schedule, train_group
from anchorbench.mi_benchmark.pools import build_pool
from anchorbench.mi_benchmark.summary import per_run_levels, to_long
from bench.bench_engine import domain_kwargs
from estimators.critics import CriticConfig

LEVELS = (2.0, 4.0, 6.0, 8.0, 10.0)
VARIANTS = {"fp32": (False, 1.0), "fp32_lr_1e-6": (False, 1.0 + 1e-6), "bf16": (True, 1.0)}


def compare(domain, estimators: list[str], seeds: int, steps_per_level: int, width: int, lr: float,
            device: str) -> pd.DataFrame:
    runs = [RunSpec(name, seed) for name in estimators for seed in range(seeds)]
    critic = CriticConfig("joint", width=width, depth=2)
    schedule = Schedule(LEVELS, steps_per_level)
    means = {}  # variant -> per-run level means (the pipeline's readout: last quarter of each level)
    for variant, (bf16, lr_scale) in VARIANTS.items():
        result = train_group(domain, runs, critic, schedule, 64, lr * lr_scale, device=device,
                             autocast_bf16=bf16, progress=False)
        means[variant] = per_run_levels(to_long(result, domain.name, "joint"), schedule).set_index(
            ["estimator", "level", "seed"])["mean"]
        print(f"{domain.name}: {variant} done ({result.seconds:.0f} s)", flush=True)
    by_level = ["estimator", "level"]
    table = pd.DataFrame({"fp32_mean": means["fp32"].groupby(by_level).mean(),
                          "fp32_seed_sd": means["fp32"].groupby(by_level).std(ddof=0)})
    for variant in ("fp32_lr_1e-6", "bf16"):
        table[f"{variant}_minus_fp32"] = (means[variant] - means["fp32"]).groupby(by_level).mean()
    table = table.reset_index()
    table.insert(0, "domain", domain.name)
    table.insert(2, "level_bits", [LEVELS[i] for i in table.level])
    return table.drop(columns="level")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--domains", nargs="+", default=["gaussian", "mnist", "imdb_bert"])
    ap.add_argument("--estimators", nargs="+", default=["infonce_anchor", "infonce", "nwj", "dv", "js"])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--steps-per-level", type=int, default=150)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    tables = []
    for name in args.domains:
        pools = {name: build_pool(name)} if name != "gaussian" else None
        domain = build_domain(name, pools, device=args.device, **domain_kwargs(name, img_size=32))
        tables.append(compare(domain, args.estimators, args.seeds, args.steps_per_level, args.width, 5e-4, args.device))
    table = pd.concat(tables, ignore_index=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / f"precision_{args.device}.csv", index=False)
    setup = (f"joint critic width {args.width}, depth 2, B = 64, {args.seeds} seeds, {args.steps_per_level} steps "
             f"per level; torch {torch.__version__}")
    (out / f"precision_{args.device}.md").write_text(f"{setup}\n\n" + table.round(3).to_markdown(index=False) + "\n")
    print(table.round(3).to_markdown(index=False))


if __name__ == "__main__":
    main()
