"""Peak memory of one training configuration, each measured in a fresh process.

The RSS-growth column of bench_engine.py depends on what earlier configurations left allocated;
here every configuration gets its own interpreter and reports ``ru_maxrss`` (the process's peak
resident set) minus the resident set just before training (interpreter, torch, data pool loaded).

    .venv/bin/python -m bench.bench_memory                       # imdb_bert joint B = 256, R = 1 and 16
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psutil

from estimators.critics import CriticConfig

CONFIGS = [("imdb_bert", "joint", 256, 1, "engine"), ("imdb_bert", "joint", 256, 16, "engine"),
           ("imdb_bert", "joint", 256, 1, "baseline")]


def measure(domain_name: str, critic: str, batch: int, runs: int, impl: str, steps: int = 2) -> dict:
    """Train ``steps`` steps in this process; return the peak resident-set growth in MiB."""
    import tempfile

    from anchorbench.mi_benchmark.domains import build_domain
    from anchorbench.mi_benchmark.engine import RunSpec, Schedule, train_group
    from bench import baseline
    from bench.bench_engine import DEPTH, ESTIMATOR, LEVEL_BITS, WIDTH, domain_kwargs, load_sources

    with tempfile.TemporaryDirectory() as tmp:
        pools, samplers = load_sources([domain_name], Path(tmp))
        domain = build_domain(domain_name, pools, **domain_kwargs(domain_name))
        before = psutil.Process().memory_info().rss
        if impl == "engine":
            train_group(domain, [RunSpec(ESTIMATOR, s) for s in range(runs)],
                        CriticConfig(critic, width=WIDTH, depth=DEPTH),
                        Schedule((LEVEL_BITS,), steps), batch, 5e-4, progress=False)
        else:
            baseline.train_baseline(samplers[domain_name], domain.dx, domain.dy, runs, steps, batch, critic,
                                    WIDTH, DEPTH)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    return {"domain": domain_name, "critic": critic, "batch": batch, "runs": runs, "impl": impl, "dx": domain.dx,
            "peak_growth_mib": round((peak - before) / 2**20, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--one", help=argparse.SUPPRESS)  # child mode: a JSON config
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(*json.loads(args.one))))
        return
    rows = []
    for config in CONFIGS:
        out = subprocess.run([sys.executable, "-m", "bench.bench_memory", "--one", json.dumps(config)],
                             capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    table.to_csv(Path(args.out) / "memory_cpu.csv", index=False)
    (Path(args.out) / "memory_cpu.md").write_text(table.to_markdown(index=False) + "\n")


if __name__ == "__main__":
    main()
