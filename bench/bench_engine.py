"""Throughput of anchorbench's training engine against the reference protocol's cost structure.

Measures, in one process and one run, side by side: run-steps per second of the baseline
(bench/baseline.py: one module per run in a Python loop, per-sample data, concatenated pairs) and of
the engine (anchorbench.engine.train_group as the pipeline uses it), their ratio and peak memory,
over domains x runs R x batch B x critic type. Writes CSV + markdown tables and a throughput plot.

    .venv/bin/python bench/bench_engine.py                      # full CPU grid
    .venv/bin/python bench/bench_engine.py --domains gaussian --runs 1 4 --batch 64 --critics joint
"""

from __future__ import annotations

import argparse
import gc
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import torch

from anchorbench.data.domains import build_domain
from anchorbench.data.imdb import load_imdb_bert
from anchorbench.data.mnist import load_mnist_digits
from anchorbench.engine import RunSpec, Schedule, train_group
from bench import baseline

WIDTH, DEPTH, EMBED, SOURCES, IMG = 256, 2, 32, 10, 64
ESTIMATOR, LEVEL_BITS = "infonce_anchor", 4.0


class PeakMemory:
    """Peak extra memory (MiB) during a block: CUDA allocator peak, or sampled process RSS on CPU.

    On CPU the figure is the growth of the resident set over what the process already held, so a
    configuration that fits in memory freed by an earlier one reads near 0; large ones are exact
    to the sampling interval.
    """

    def __init__(self, device: str) -> None:
        self.device, self.peak = device, 0.0

    def __enter__(self):
        gc.collect()
        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            self.proc, self.base, self.running = psutil.Process(), psutil.Process().memory_info().rss, True
            self.max_rss = self.base
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.max_rss = max(self.max_rss, self.proc.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc):
        if self.device == "cuda":
            torch.cuda.synchronize()
            self.peak = (torch.cuda.max_memory_allocated() - self.base) / 2**20
        else:
            self.running = False
            self.thread.join()
            self.peak = (self.max_rss - self.base) / 2**20


def timed(fn, steps: int) -> float:
    """Seconds for ``fn(steps)`` after a one-step warm-up."""
    fn(1)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn(steps)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def load_sources(domains: list[str], tmp: Path) -> tuple[dict, dict]:
    """Engine pools and baseline samplers for each domain, from the public-data mirror."""
    pools, samplers = {}, {}
    if "mnist" in domains:
        images, labels = load_mnist_digits()
        pools["mnist"] = {"images": torch.from_numpy(images), "labels": torch.from_numpy(labels)}
        samplers["mnist"] = baseline.MnistSampler(images, labels, (2, SOURCES // 2), IMG)
    if "imdb_bert" in domains:
        emb, labels = load_imdb_bert()
        pools["imdb_bert"] = {"embeddings": torch.from_numpy(emb), "labels": torch.from_numpy(labels)}
        files = baseline.write_embedding_files(emb, labels, tmp / "imdb", per_class=2000)
        samplers["imdb_bert"] = baseline.ImdbSampler(files, SOURCES)
    if "gaussian" in domains:
        samplers["gaussian"] = baseline.GaussianSampler(10)
    return pools, samplers


def domain_kwargs(name: str) -> dict:
    return {"gaussian": {"dim": 10}, "mnist": {"sources": SOURCES, "img_size": IMG}, "imdb_bert": {"sources": SOURCES}}[name]


def steps_for(dx: int, runs: int, batch: int, impl: str, critic: str) -> int:
    """About 8 s of work per measurement (at ~100 GFLOP/s), 2 to 60 steps."""
    if critic == "joint":
        first = batch * batch * 2 * dx if impl == "baseline" else 2 * batch * dx
        macs = first * WIDTH + batch * batch * WIDTH * WIDTH * DEPTH
    else:
        macs = 2 * batch * (dx * WIDTH + WIDTH * WIDTH * DEPTH + WIDTH * EMBED) + batch * batch * EMBED
    seconds_per_step = 6 * runs * macs / 1e11  # forward + backward ~ 3x the forward MACs, 2 FLOP per MAC
    return int(np.clip(8.0 / seconds_per_step, 2, 60))


def bench_one(domain_name, pools, sampler, runs, batch, critic, device):
    domain = build_domain(domain_name, pools, device=device, **domain_kwargs(domain_name))
    critic_cfg = {"type": critic, "width": WIDTH, "depth": DEPTH} | ({"embed": EMBED} if critic == "separable" else {})
    specs = [RunSpec(ESTIMATOR, s) for s in range(runs)]

    def engine(steps):
        train_group(domain, specs, critic_cfg, Schedule((LEVEL_BITS,), steps), batch, 5e-4, device=device, progress=False)

    def base(steps):
        baseline.train_baseline(sampler, domain.dx, domain.dy, runs, steps, batch, critic, WIDTH, DEPTH,
                                ESTIMATOR, LEVEL_BITS)

    row = {"domain": domain_name, "dx": domain.dx, "runs": runs, "batch": batch, "critic": critic}
    for impl, fn in (("baseline", base), ("engine", engine)):
        steps = steps_for(domain.dx, runs, batch, impl, critic)
        with PeakMemory(device) as mem:
            seconds = timed(fn, steps)
        row |= {f"{impl}_run_steps_per_s": runs * steps / seconds, f"{impl}_peak_mib": mem.peak, f"{impl}_steps": steps}
    row["speedup"] = row["engine_run_steps_per_s"] / row["baseline_run_steps_per_s"]
    return row


def plot(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = table[["domain", "critic", "batch"]].drop_duplicates().values.tolist()
    domains = list(dict.fromkeys(table.domain))
    fig, axes = plt.subplots(1, len(domains), figsize=(4.2 * len(domains), 3.4), squeeze=False)
    for ax, dom in zip(axes[0], domains):
        for d, c, b in [k for k in keys if k[0] == dom]:
            t = table[(table.domain == d) & (table.critic == c) & (table.batch == b)]
            line, = ax.plot(t.runs, t.engine_run_steps_per_s, "o-", label=f"engine {c} B={b}")
            ax.plot(t.runs, t.baseline_run_steps_per_s, "x--", color=line.get_color(), label=f"baseline {c} B={b}")
        ax.set(xscale="log", yscale="log", title=dom, xlabel="runs R", ylabel="run-steps / s")
    axes[0][-1].legend(fontsize=6, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--domains", nargs="+", default=["gaussian", "mnist", "imdb_bert"])
    ap.add_argument("--runs", nargs="+", type=int, default=[1, 4, 16])
    ap.add_argument("--batch", nargs="+", type=int, default=[64, 256])
    ap.add_argument("--critics", nargs="+", default=["joint", "separable"])
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA GPU is visible")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pools, samplers = load_sources(args.domains, Path(tmp))
        for dom in args.domains:
            for critic in args.critics:
                for batch in args.batch:
                    for runs in args.runs:
                        row = bench_one(dom, pools, samplers[dom], runs, batch, critic, args.device)
                        rows.append(row)
                        print(f"{dom:9s} {critic:9s} B={batch:3d} R={runs:2d}  baseline {row['baseline_run_steps_per_s']:8.2f}"
                              f"  engine {row['engine_run_steps_per_s']:8.2f} run-steps/s  x{row['speedup']:.1f}"
                              f"  peak MiB {row['baseline_peak_mib']:.0f} / {row['engine_peak_mib']:.0f}", flush=True)
    table = pd.DataFrame(rows)
    tag = args.device
    table.to_csv(out / f"bench_{tag}.csv", index=False)
    machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}"
    cols = ["domain", "critic", "batch", "runs", "baseline_run_steps_per_s", "engine_run_steps_per_s", "speedup",
            "baseline_peak_mib", "engine_peak_mib"]
    (out / f"bench_{tag}.md").write_text(f"Machine: {machine}\n\n" + table[cols].round(2).to_markdown(index=False) + "\n")
    plot(table, out / f"throughput_{tag}.png")


if __name__ == "__main__":
    main()
