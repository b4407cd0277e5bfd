"""The SSL experiment as an adapter (``anchorbench.experiment``; paper Sec. 4.3, App. G.3; seed 001).

data: the CDP glyph banks and labelled probe images; tune: one Optuna study per tuned objective over tau (and nu)
on the validation probe accuracy; train: one unit per (objective, pairing, batch size, seed) and an untrained
baseline per (pairing, seed): pretrain, probe, post-training MI (its encoder and loss curve are published to
``results/ssl/units/``), then tables, figures and the claims with verdicts (``anchorbench.ssl.claims``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from anchorbench import names, stats
from anchorbench.experiment import ChildRun, Experiment, Summary, markdown_table
from anchorbench.io import write_frame, write_json
from anchorbench.ssl.config import RANDOM_INIT
from anchorbench.ssl.data import build_cdp
from anchorbench.ssl.plots import mi_accuracy_figure, mi_figure, probe_figure
from anchorbench.ssl.run import SSLUnit, load_data, plan_units, run_unit
from anchorbench.ssl.summary import metrics, mi_table, probe_table, summary_table
from anchorbench.ssl.tuning import studies

RUN_TAGS = ("objective", "pairing", "batch_size", "seed")


class SSL(Experiment):
    key = "ssl"
    title = "SSL: pretraining, linear probe, post-training MI"

    def prepare(self, params, out: Path) -> dict:
        return build_cdp(params.ssl_data, out)

    def _data(self, params):
        return load_data(params.ssl, self.data_dir(), params.ssl_data.mirror)

    def studies(self, params):
        return studies(params, lambda: self._data(params))

    def plan(self, params, tuned: dict) -> list[SSLUnit]:
        return plan_units(params.ssl, tuned=tuned)

    def unit_key(self, params) -> object:
        return params.ssl, params.ssl_data.mirror

    def run_unit(self, params, unit: SSLUnit, data_dir: Path, folder: Path) -> dict:
        return run_unit(params.ssl, unit, self._data(params), folder)

    def summarise(self, params, results: list[dict], data_dir: Path, out: Path) -> Summary:
        """probe.csv, mi.csv, summary.csv, metrics.json (with the claims and their verdicts) and the three figures."""
        p = params.ssl
        probe, mi = probe_table(results), mi_table(results, p.post_batch_size)
        files = {"probe": write_frame(out / "probe.csv", probe), "mi": write_frame(out / "mi.csv", mi),
                 "summary": write_frame(out / "summary.csv", summary_table(probe, mi)),
                 # wall-clock seconds go to MLflow only: a DVC output must hash the same on every rerun
                 "metrics": write_json(out / "metrics.json", metrics(probe, mi, p)),
                 "probe_png": probe_figure(probe, p.batch_size, out / "probe_accuracy.png"),
                 "mi_png": mi_figure(mi, out / "mi_in_vs_post.png"),
                 "mi_acc_png": mi_accuracy_figure(probe, mi, out / "mi_vs_accuracy.png")}
        main = probe[(probe.batch_size == p.batch_size) & ~probe.diverged & (probe.objective != RANDOM_INIT)]
        headline = {names.TOP1: float(main.top1.mean()) if len(main) else math.nan,
                    "diverged_units": float(probe.diverged.sum())}
        return Summary({k: str(v) for k, v in files.items()}, headline)

    def children(self, params, results: list[dict]) -> list[ChildRun]:
        """A child per unit: tau and nu, the loss and in-training MI curves (none for the untrained baseline), probe
        accuracies, post-training MI, wall seconds per part (``seconds`` the whole unit)."""
        out = []
        for r in results:
            series = {}
            if "curve" in r["files"]:
                curve = json.loads((Path(r["folder"]) / r["files"]["curve"]).read_text())
                steps = range(0, len(curve["loss"]), max(1, len(curve["loss"]) // 200))
                series = {"loss": [(s, curve["loss"][s]) for s in steps],
                          "train_mi_bits": [(s, curve["mi_nats"][s] / math.log(2)) for s in steps]}
            seconds = {"seconds" if k == "total" else f"seconds_{k}": v for k, v in r["seconds"].items()}
            metrics = {names.TRUE_MI_BITS: r["true_mi_bits"], **seconds,
                       **{(names.TOP1 if k == "top1" else f"probe_{k}"): v for k, v in r.get("probe", {}).items()},
                       **{f"post_mi_bits_{k}": v for k, v in r.get("post_mi_bits", {}).items()}}
            out.append(ChildRun(r["name"], {k: str(r[k]) for k in RUN_TAGS},
                                {"tau": r["tau"], "nu": r["nu"], "batch_size": r["batch_size"], "steps": r["steps"]},
                                metrics, series, "diverged" if r["diverged_step"] is not None else "ok"))
        return out

    def view_columns(self, params) -> tuple[list[str], list[str]]:
        post = [f"post_mi_bits_{e}" for e in params.ssl.post_estimators]
        return [names.TOP1, names.TRUE_MI_BITS, *post], list(RUN_TAGS)

    def tables(self, metrics: dict) -> dict[str, str]:
        """``probe``: top-1 of the shared-attribute probe (mean ± SD, seeds) per objective, pairing and batch size;
        ``mi``: each in-training and post-training readout (bits) beside H(C), its cap and the reachable ceiling;
        and the claims."""
        import pandas as pd

        def cell(m: dict, key: str) -> str:
            return "" if m.get(key) is None else f"{m[key]:.3f} ± {m.get(key + '_sd') or 0:.3f} ({m['seeds']})"

        rows = [dict(zip(("objective", "pairing", "B"), k.split("|")), top1=cell(m, "top1"))
                for k, m in metrics["probe"].items()]
        mi = [dict(zip(("objective", "pairing", "B"), k.split("|")), phase="in training", estimator="(objective)",
                   **{"MI (bits)": cell(m, "mi_bits"), "H(C)": m.get("true_mi_bits"), "cap": m.get("cap_bits"),
                      "ceiling": m.get("ceiling_bits")}) for k, m in metrics["in_training"].items()]
        mi += [dict(zip(("objective", "pairing", "B"), k.split("|")), phase="post training", estimator=e,
                    **{"MI (bits)": cell(m, "mi_bits"), "H(C)": m.get("true_mi_bits"), "cap": m.get("cap_bits"),
                       "ceiling": m.get("ceiling_bits")})
               for e, by in metrics["post_training"].items() for k, m in by.items()]
        probe = pd.DataFrame(rows)
        widest = probe.pairing.map(len).max() if len(probe) else 0  # the pairing sharing the most attributes
        head = probe[(probe.pairing.map(len) == widest)]
        return super().tables(metrics) | {"probe": probe.to_markdown(index=False),
                                          "mi": markdown_table(pd.DataFrame(mi), digits=None, missing=""),
                                          "headline": head.to_markdown(index=False)}

    def report(self, params, summary: Summary, run_id: str) -> str:
        import pandas as pd

        table = pd.read_csv(summary.files["summary"])
        cols = [c for c in table.columns if c in ("objective", "pairing", "batch_size", "true_mi_bits", "top1_mean",
                                                   "top5_mean", "in_mi_objective") or c.startswith("post_mi_")]
        metrics = json.loads(Path(summary.files["metrics"]).read_text())
        above = metrics["above_hc"]
        return "\n".join([f"## SSL: linear probe and MI (profile `{params.profile}`)", "",
                          f"MLflow parent run `{run_id}`; top-1 / top-5: the joint probe of the pairing's shared "
                          "attributes.", "", markdown_table(table[cols]), "",
                          f"{above['count']} of {above['of']} MI values (in- and post-training) exceed H(C), which no "
                          "estimate of these pairs' MI may: listed in metrics.json `above_hc`.", "", "### Claims", "",
                          stats.markdown_table(metrics["claims"])])


EXPERIMENT = SSL()
