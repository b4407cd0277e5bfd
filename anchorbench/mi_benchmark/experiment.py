"""The MI benchmark as an experiment adapter (``anchorbench.experiment``).

data: sampling pools of the mirror domains (MNIST, IMDB-BERT); tune: one Optuna study per (tuned estimator,
critic) on validation seeds; train: one unit per training group (a domain x critic configuration with all its
(estimator, seed) runs), then the bias/variance tables and figures. Its own steps beside the generic ones: the
pre-flight check of the mirror files and IMDB-BERT's measured effective truth (kept like a unit, so computed once
per data version).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from anchorbench import names, stats
from anchorbench.experiment import ChildRun, Experiment, Summary, markdown_table
from anchorbench.io import manifest_version, write_frame, write_json
from anchorbench.mi_benchmark import plots
from anchorbench.mi_benchmark.effective_mi import effective_truth
from anchorbench.mi_benchmark.engine import Schedule
from anchorbench.mi_benchmark.groups import run_group
from anchorbench.mi_benchmark.plan import GroupSpec, plan_groups
from anchorbench.mi_benchmark.pools import check_sources, load_pools, prepare_pools
from anchorbench.mi_benchmark.summary import bias_variance, claims, metrics_dict, per_run_levels
from anchorbench.mi_benchmark.tuning import studies
from anchorbench.resume import content_key, finished

RUN_TAGS = ("domain", "critic", "estimator", "seed")  # the tags of one child run (anchorbench.mi_benchmark.compare)
ESTIMATES = "estimates.parquet"  # a group's long table (one row per run and step), in its unit folder


class MIBenchmark(Experiment):
    key = "mi_benchmark"
    title = "MI benchmark"
    publish_units = False  # the groups' long tables are joined into results/mi_benchmark/estimates.parquet

    def check(self, params, stage: str) -> None:
        if stage == "data":
            d = params.mi_benchmark_data
            check_sources(d.mirror, d.pool_domains(params.mi_benchmark), d.verify_hashes)

    def prepare(self, params, out: Path) -> dict:
        d = params.mi_benchmark_data
        return prepare_pools(out, d.mirror, d.pool_domains(params.mi_benchmark), d.verify_hashes)

    def _pools_dir(self, params) -> str | None:
        return str(self.data_dir()) if set(params.mi_benchmark.domains) - {"gaussian"} else None

    def studies(self, params):
        return studies(params, self._pools_dir(params))

    def plan(self, params, tuned: dict) -> list[GroupSpec]:
        return plan_groups(params.mi_benchmark, tuned, tuned_domain=params.mi_benchmark_tune.domain)

    def unit_key(self, params) -> None:
        return None  # a GroupSpec holds everything that determines its result

    def run_unit(self, params, unit: GroupSpec, data_dir: Path, folder: Path) -> dict:
        result, long = run_group(unit, self._pools_dir(params))
        long.to_parquet(folder / ESTIMATES, index=False)
        diverged = [{"domain": unit.domain, "critic": unit.critic.type, "estimator": run.name, "seed": run.seed,
                     "step": step} for run, step in zip(result.runs, result.diverged_step) if step is not None]
        return {"diverged": diverged, "seconds": result.seconds,
                "run_steps_per_second": len(result.runs) * len(result.true_mi_bits) / max(result.seconds, 1e-9),
                "params": {f"{unit.domain}|{unit.critic.type}|{r.name}|{r.seed}":
                           {"critic_type": unit.critic.type, **unit.critic.kwargs(), **r.hparams,
                            "precision": unit.precision} for r in unit.runs}}

    def _effective(self, params, data_dir: Path) -> dict[str, dict[float, float]]:
        """IMDB-BERT's measured effective true MI (bits) per nominal level, computed once per data version."""
        p = params.mi_benchmark
        if "imdb_bert" not in p.domains:
            return {}
        key = content_key("effective_truth", manifest_version(data_dir), p.sources, list(p.levels_bits))
        _, truth = finished(self.units_dir(), "effective_truth", key, lambda tmp: {"levels": list(effective_truth(
            load_pools(data_dir)["imdb_bert"], p.sources, list(p.levels_bits)).items())})
        return {"imdb_bert": {float(level): float(bits) for level, bits in truth["levels"]}}

    def summarise(self, params, results: list[dict], data_dir: Path, out: Path) -> Summary:
        """estimates.parquet, summary.csv, per_run.csv, metrics.json and the two figures."""
        p = params.mi_benchmark
        long = pd.concat([pd.read_parquet(Path(r["folder"]) / ESTIMATES) for r in results], ignore_index=True)
        diverged = [d for r in results for d in r["diverged"]]
        effective = self._effective(params, data_dir)
        schedule = Schedule(tuple(p.levels_bits), p.steps_per_level)
        table = bias_variance(long, schedule)
        table.insert(4, "level_bits", [p.levels_bits[i] for i in table["level"]])
        table["effective_true_mi_bits"] = [effective.get(d, {}).get(b, np.nan)
                                           for d, b in zip(table.domain, table.level_bits)]
        table["bias_effective"] = table.bias + table.true_mi_bits - table.effective_true_mi_bits
        per_run = per_run_levels(long, schedule)
        metrics = metrics_dict(table, diverged, list(p.levels_bits)) | {"claims": claims(per_run, p.batch_size)}
        files = {"estimates": write_frame(out / "estimates.parquet", long),
                 "summary": write_frame(out / "summary.csv", table),
                 "per_run": write_frame(out / "per_run.csv", per_run),
                 "metrics": write_json(out / "metrics.json", metrics),
                 "figure1": out / "figure1.png", "bias_variance": out / "bias_variance.png"}
        plots.figure1(long, files["figure1"], p.batch_size)
        plots.bias_variance_plot(table, files["bias_variance"])
        ok = table[np.isfinite(table.bias)]
        headline = {names.ABS_ERROR_BITS: float(ok.bias.abs().mean()) if len(ok) else float("nan"),
                    "diverged_runs": float(len(diverged)),
                    "run_steps_per_second": float(np.mean([r["run_steps_per_second"] for r in results]))}
        return Summary({k: str(v) for k, v in files.items()}, headline)

    def view_columns(self, params) -> tuple[list[str], list[str]]:
        levels = [names.level_metric("bias", b) for b in params.mi_benchmark.levels_bits]
        return [names.ABS_ERROR_BITS, *levels], list(RUN_TAGS)

    def children(self, params, results: list[dict]) -> list[ChildRun]:
        """A child per (domain, critic, estimator, seed): its settings, per-level mean / bias / SD, |bias| over
        the levels under the shared name, a downsampled estimate trace and its divergence state."""
        p = params.mi_benchmark
        schedule = Schedule(tuple(p.levels_bits), p.steps_per_level)
        long = pd.concat([pd.read_parquet(Path(r["folder"]) / ESTIMATES) for r in results], ignore_index=True)
        per_run = per_run_levels(long, schedule)
        dead = {tuple(d[k] for k in RUN_TAGS): d["step"] for r in results for d in r["diverged"]}
        run_params = {k: v for r in results for k, v in r["params"].items()}
        every = max(1, p.steps_per_level // 50)
        traces = long[long.step % every == 0].groupby(list(RUN_TAGS))
        out = []
        for key, rows in per_run.groupby(list(RUN_TAGS)):
            domain, critic, estimator, seed = key
            metrics = {}
            for r in rows.itertuples():
                if np.isfinite(r.mean):
                    metrics |= {names.level_metric("mean", r.true_mi_bits): r.mean,
                                names.level_metric("bias", r.true_mi_bits): r.mean - r.true_mi_bits,
                                names.level_metric("sd", r.true_mi_bits): r.sd}
            finite = rows[np.isfinite(rows["mean"])]
            metrics[names.ABS_ERROR_BITS] = float((finite["mean"] - finite.true_mi_bits).abs().mean()) \
                if len(finite) == len(rows) else float("nan")
            if key in dead:
                metrics["diverged_step"] = dead[key]
            trace = traces.get_group(key)
            trace = trace[np.isfinite(trace.estimate_bits)]
            out.append(ChildRun(f"{domain}-{critic}-{estimator}-s{seed}",
                                dict(zip(RUN_TAGS, map(str, (domain, critic, estimator, int(seed))))),
                                run_params.get(f"{domain}|{critic}|{estimator}|{seed}", {}), metrics,
                                {"estimate_bits": list(zip(trace.step.tolist(), trace.estimate_bits.tolist()))},
                                "diverged" if key in dead else "ok"))
        return out

    def tables(self, metrics: dict) -> dict[str, str]:
        """``bias``: bias (SD) in bits per estimator and level, one table per domain / critic; and the claims."""
        parts = []
        for domain, critics in metrics["levels"].items():
            for critic, ests in critics.items():
                levels = list(next(iter(ests.values())))
                cell = lambda v: "diverged" if v["bias"] is None else f"{v['bias']:+.2f} ({v['sd']:.2f})"  # noqa: E731
                rows = [{"estimator": e, **{lvl: cell(v) for lvl, v in by.items()}} for e, by in ests.items()]
                parts += [f"**{domain} / {critic}**: bias (SD) in bits at each true MI", "",
                          pd.DataFrame(rows, columns=["estimator", *levels]).to_markdown(index=False), ""]
        top = max(float(lvl.removesuffix("bits")) for c in metrics["levels"].values() for e in c.values()
                  for by in e.values() for lvl in by)
        head = [{"domain / critic": f"{d} / {c}", **{e: cell(by.get(f"{top:g}bits", {"bias": None}))
                                                     for e, by in ests.items() if e in ("infonce_anchor", "infonce")}}
                for d, critics in metrics["levels"].items() for c, ests in critics.items()]
        headline = (f"bias (SD) in bits at {top:g} bits:\n\n" + pd.DataFrame(head).to_markdown(index=False))
        return super().tables(metrics) | {"bias": "\n".join(parts).strip(), "headline": headline}

    def report(self, params, summary: Summary, run_id: str) -> str:
        table = pd.read_csv(summary.files["summary"]).pivot_table(
            index=["domain", "critic", "estimator"], columns="level_bits", values="bias").reset_index()
        table.columns = [c if isinstance(c, str) else f"{c:g} bits" for c in table.columns]
        h = summary.headline
        return "\n".join([f"## MI benchmark: bias (bits) per true-MI level (profile `{params.profile}`)", "",
                          f"mean |bias| {h[names.ABS_ERROR_BITS]:.3f} bits; diverged runs {h['diverged_runs']:.0f}; "
                          f"mean throughput {h['run_steps_per_second']:.0f} run-steps/s; MLflow parent run "
                          f"`{run_id}`.", "", markdown_table(table, 2), "", "### Claims", "",
                          stats.markdown_table(json.loads(Path(summary.files["metrics"]).read_text())["claims"])])


EXPERIMENT = MIBenchmark()
