"""Throughput of anchorbench's training engine against the reference protocol's cost structure.

Measures, in one process and one run, side by side: run-steps per second of the baseline
(bench/baseline.py: one module per run in a Python loop, per-sample data, concatenated pairs) and of
the engine (anchorbench.mi_benchmark.engine.train_group as the pipeline uses it) in fp32 and, where the hardware
has native bf16, with ``precision: bf16``, their ratios and peak memory, over
domains x runs R x batch B x critic type. Writes CSV + markdown tables and a throughput plot.

    .venv/bin/python -m bench.bench_engine                      # full CPU grid
    .venv/bin/python -m bench.bench_engine --domains gaussian --runs 1 4 --batch 64 --critics joint
    .venv/bin/python -m bench.bench_engine --runs 16 --batch 64 --critics joint --repeat 3 --tag targets
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import torch

from anchorbench.mi_benchmark.domains import build_domain
from anchorbench.mi_benchmark.engine import RunSpec, Schedule, native_bf16, train_group
from anchorbench.mi_benchmark.pools import build_pool
from bench import baseline
from estimators.critics import CriticConfig

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
    pools = {name: build_pool(name) for name in domains if name != "gaussian"}
    samplers = {}
    if "mnist" in domains:
        images, labels = pools["mnist"]["images"].numpy(), pools["mnist"]["labels"].numpy()
        samplers["mnist"] = baseline.MnistSampler(images, labels, (2, SOURCES // 2), IMG)
    if "imdb_bert" in domains:
        emb, labels = pools["imdb_bert"]["embeddings"].numpy(), pools["imdb_bert"]["labels"].numpy()
        files = baseline.write_embedding_files(emb, labels, tmp / "imdb", per_class=2000)
        samplers["imdb_bert"] = baseline.ImdbSampler(files, SOURCES)
    if "gaussian" in domains:
        samplers["gaussian"] = baseline.GaussianSampler(10)
    return pools, samplers


def domain_kwargs(name: str, img_size: int = IMG) -> dict:
    return {"gaussian": {"dim": 10}, "mnist": {"sources": SOURCES, "img_size": img_size},
            "imdb_bert": {"sources": SOURCES}}[name]


def steps_for(dx: int, runs: int, batch: int, impl: str, critic: str) -> int:
    """About 8 s of work per measurement (at ~100 GFLOP/s), 2 to 60 steps."""
    if critic == "joint":
        first = batch * batch * 2 * dx if impl == "baseline" else 2 * batch * dx
        macs = first * WIDTH + batch * batch * WIDTH * WIDTH * DEPTH
    else:
        macs = 2 * batch * (dx * WIDTH + WIDTH * WIDTH * DEPTH + WIDTH * EMBED) + batch * batch * EMBED
    seconds_per_step = 6 * runs * macs / 1e11  # forward + backward ~ 3x the forward MACs, 2 FLOP per MAC
    return int(np.clip(8.0 / seconds_per_step, 2, 60))


def bench_one(domain_name, pools, sampler, runs, batch, critic, device, precisions, repeat=1):
    """One configuration: the baseline and the engine at each precision, measured in turn ``repeat``
    times (interleaved, so a slow spell of a shared machine hits all of them); the best of each counts."""
    domain = build_domain(domain_name, pools, device=device, **domain_kwargs(domain_name))
    critic_cfg = CriticConfig(critic, width=WIDTH, depth=DEPTH, embed=EMBED if critic == "separable" else None)
    specs = [RunSpec(ESTIMATOR, s) for s in range(runs)]

    def engine(precision):
        return lambda steps: train_group(domain, specs, critic_cfg, Schedule((LEVEL_BITS,), steps), batch, 5e-4,
                                         device=device, autocast_bf16=precision == "bf16", progress=False)

    def base(steps):
        baseline.train_baseline(sampler, domain.dx, domain.dy, runs, steps, batch, critic, WIDTH, DEPTH,
                                ESTIMATOR, LEVEL_BITS)

    row = {"domain": domain_name, "dx": domain.dx, "runs": runs, "batch": batch, "critic": critic}
    impls = [("baseline", base, "baseline")] + [(f"engine_{p}", engine(p), "engine") for p in precisions]
    for _ in range(repeat):
        for name, fn, kind in impls:
            steps = steps_for(domain.dx, runs, batch, kind, critic)
            with PeakMemory(device) as mem:
                seconds = timed(fn, steps)
            best = max(runs * steps / seconds, row.get(f"{name}_run_steps_per_s", 0.0))
            peak = max(mem.peak, row.get(f"{name}_peak_mib", 0.0))
            row |= {f"{name}_run_steps_per_s": best, f"{name}_peak_mib": peak, f"{name}_steps": steps}
    for p in precisions:
        row[f"speedup_{p}"] = row[f"engine_{p}_run_steps_per_s"] / row["baseline_run_steps_per_s"]
    return row


def machine(device: str) -> str:
    """CPU model, cores, native bf16 and torch version (and the GPU's name on cuda)."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    text = (f"{model}, {os.cpu_count()} cores, {torch.backends.cpu.get_cpu_capability()}, native bf16: "
            f"{native_bf16(torch.device('cpu'))}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    return text + (f"; GPU {torch.cuda.get_device_name()}" if device == "cuda" else "")


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
            line, = ax.plot(t.runs, t.baseline_run_steps_per_s, "x--", label=f"baseline {c} B={b}")
            for p, style in (("fp32", "o-"), ("bf16", "s:")):
                if f"engine_{p}_run_steps_per_s" in t:
                    ax.plot(t.runs, t[f"engine_{p}_run_steps_per_s"], style, color=line.get_color(),
                            label=f"engine {p} {c} B={b}")
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
    ap.add_argument("--repeat", type=int, default=1, help="interleaved measurements per configuration (best counts)")
    ap.add_argument("--tag", default="", help="suffix of the output files (default: the device)")
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA GPU is visible")
    # the pipeline's default fp32, and its opt-in bf16 where the hardware computes bf16 natively
    precisions = ["fp32", "bf16"] if native_bf16(torch.device(args.device)) else ["fp32"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pools, samplers = load_sources(args.domains, Path(tmp))
        for dom in args.domains:
            for critic in args.critics:
                for batch in args.batch:
                    for runs in args.runs:
                        row = bench_one(dom, pools, samplers[dom], runs, batch, critic, args.device, precisions,
                                        args.repeat)
                        rows.append(row)
                        engines = "  ".join(f"engine {p} {row[f'engine_{p}_run_steps_per_s']:8.2f} "
                                            f"(x{row[f'speedup_{p}']:.1f})"
                                            for p in precisions)
                        print(f"{dom:9s} {critic:9s} B={batch:3d} R={runs:2d}  "
                              f"baseline {row['baseline_run_steps_per_s']:8.2f}"
                              f"  {engines} run-steps/s", flush=True)
    table = pd.DataFrame(rows)
    tag = args.device + (f"_{args.tag}" if args.tag else "")
    table.to_csv(out / f"bench_{tag}.csv", index=False)
    cols = ["domain", "critic", "batch", "runs", "baseline_run_steps_per_s"]
    cols += [c for p in precisions for c in (f"engine_{p}_run_steps_per_s", f"speedup_{p}")]
    cols += ["baseline_peak_mib"] + [f"engine_{p}_peak_mib" for p in precisions]
    (out / f"bench_{tag}.md").write_text(f"Machine: {machine(args.device)}\n\n"
                                         + table[cols].round(2).to_markdown(index=False) + "\n")
    plot(table, out / f"throughput_{tag}.png")


if __name__ == "__main__":
    main()
