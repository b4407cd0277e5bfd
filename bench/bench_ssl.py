"""Time of SSL units by part (pretraining, probes, post-training MI) and the projected ``ssl`` stage time.

    python -m bench.bench_ssl                               # the default profile's units, seed 0 of pairing cdp
    python -m bench.bench_ssl --set encoder=resnet18 width=8 post_batch_size=512   # the earlier default, alike
    python -m bench.bench_ssl --threads 1 --repeat 2

The CDP data of the default profile is built into a temporary folder (MNIST glyphs from the mirror, else sklearn
digits). One unit of each kind is run (every objective at the training batch size, each small-batch objective, the
untrained baseline) on one pairing and seed; the stage time is projected as the sum over the profile's plan of the
mean measured time of the unit's kind (pairings and seeds cost alike), with no Prefect, MLflow or summary overhead.
Wall times on a shared machine are only as good as its load: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import pandas as pd
import torch
import yaml

from anchorbench.config import parse_params
from anchorbench.io import atomic_path, write_frame
from anchorbench.paths import REPO
from anchorbench.ssl.config import RANDOM_INIT
from anchorbench.ssl.data import build_cdp, load_cdp
from anchorbench.ssl.run import Data, plan_units, run_unit

RESULTS = "bench/results"


def kind(unit) -> str:
    """What a unit's time depends on: its objective and batch size (pairings and seeds cost alike)."""
    return f"{unit.objective} B={unit.batch_size}" if unit.objective != RANDOM_INIT else RANDOM_INIT


def params(overrides: list[str]):
    """The default profile's params with ``key=value`` overrides of the ``ssl`` section (YAML values)."""
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["profile"] = "default"
    raw["ssl"] = (raw.get("ssl") or {}) | {k: yaml.safe_load(v) for k, v in (o.split("=", 1) for o in overrides)}
    return parse_params(raw)


def measure(p, data: Data, pairing: str, repeat: int, out: str) -> pd.DataFrame:
    """One row per (unit kind, repeat): the wall seconds of each part of ``run_unit`` and the process CPU seconds of
    the whole unit (``cpu``; with one thread, what the unit costs whatever else the machine runs)."""
    plan = plan_units(p.ssl)
    one = {kind(u): u for u in plan if u.pairing == pairing and u.seed == 0}
    rows = []
    for _ in range(repeat):
        for name, unit in one.items():
            cpu = time.process_time()
            seconds = run_unit(p.ssl, unit, data, out)["seconds"]
            rows.append({"kind": name, "steps": unit.steps, **seconds, "cpu": time.process_time() - cpu})
            print(f"{name:62s} " + "  ".join(f"{k} {v:6.2f}s" for k, v in seconds.items()), flush=True)
    return pd.DataFrame(rows)


def project(p, times: pd.DataFrame) -> pd.DataFrame:
    """The plan's units by kind with their mean measured seconds: count, seconds per unit, seconds in all."""
    counts = pd.Series([kind(u) for u in plan_units(p.ssl)]).value_counts()
    mean = times.groupby("kind")[["pretrain", "probe", "post_mi", "total", "cpu"]].mean()
    table = mean.join(counts.rename("units"))
    table["stage_seconds"] = table.total * table.units
    table["stage_cpu_seconds"] = table.cpu * table.units
    return table.reset_index()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", nargs="*", default=[], help="ssl section overrides, key=value")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--pairing", default="cdp")
    parser.add_argument("--name", default="ssl_cpu", help="bench/results/<name>.{csv,md}")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    p = params(args.set)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # torch's one-time optimizer import, outside the units
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        build_cdp(p.ssl_data, tmp)
        times = measure(p, Data("cdp", load_cdp(tmp), torch.device("cpu")), args.pairing, args.repeat, tmp)
    table = project(p, times)
    total, cpu = table.stage_seconds.sum(), table.stage_cpu_seconds.sum()
    note = (f"{p.ssl.encoder} width {p.ssl.width}, {p.ssl.seeds} seeds, {len(plan_units(p.ssl))} units, "
            f"{args.threads} torch threads; load average {load[0]:.1f} before, {os.getloadavg()[0]:.1f} after "
            f"({os.cpu_count()} CPUs); projected stage: {total / 60:.1f} min wall, {cpu / 60:.1f} min CPU")
    print(table.to_string(index=False, float_format="%.2f"), "\n" + note)
    write_frame(f"{RESULTS}/{args.name}.csv", times)
    with atomic_path(f"{RESULTS}/{args.name}.md") as md:
        md.write_text(f"{note}\n\n{table.to_markdown(index=False, floatfmt='.2f')}\n")


if __name__ == "__main__":
    main()
