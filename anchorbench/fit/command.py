"""``anchorbench estimate X Y``: MI (bits) of paired rows from two files, optionally the PMI of every pair.

    anchorbench estimate x.npy y.npy --estimator infonce_anchor --seeds 5 --pmi-out pmi.csv

Inputs: .npy, .csv (numbers; a header row is detected and skipped) or .parquet, row i of X paired with row
i of Y. ``--pmi-out`` (.csv, .parquet or .npy) gets the PMI in nats of every input pair (mean over seeds),
with a ``split`` column saying which rows trained the critic (their PMI is in-sample), which chose its
early-stopping state (val) and which gave the MI (test); a .npy file holds only the ``[n]`` PMI values. The
training defaults are ``anchorbench.fit.FIT_DEFAULTS``; the report says when the seeds disagree by more than
10 % of the estimate. Bad input: one ``anchorbench: error: ...`` line, exit 2,
nothing written. Heavy imports happen in ``run`` so the CLI starts fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from anchorbench.fit.defaults import FIT_CRITIC, FIT_SETTINGS, READOUT, READOUTS

INPUTS = (".npy", ".csv", ".parquet")
OUTPUTS = (".csv", ".parquet", ".npy")
# TrainSettings fields the command exposes: flag, type, help; their defaults are FIT_DEFAULTS'
SETTINGS = [("batch-size", int, "training batch size"), ("lr", float, "Adam learning rate"),
            ("max-steps", int, "step cap"), ("patience", int, "steps without a better validation loss"),
            ("check-every", int, "steps between validation checks")]
HOW = {"dv": "DV readout of the seeds' mean PMI +- SD of the seeds' DV readouts",
       "estimator": "mean +- SD over seeds of the estimator's readout"}
DISAGREE = 0.10  # seeds whose range exceeds this fraction of the estimate are reported as disagreeing


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "estimate", help="MI and PMI of paired rows in two files",
        description="Fit a critic on paired rows (X row i with Y row i), print the MI in bits (mean +- SD over "
                    "seeds, read on held-out test rows that neither training nor early stopping used) and "
                    "optionally write the PMI of every pair.")
    p.add_argument("x", help="X rows: .npy, .csv (numeric, header auto-detected) or .parquet")
    p.add_argument("y", help="Y rows, same number of rows as X")
    p.add_argument("--estimator", default="infonce_anchor", help="registered estimator (anchorbench estimators)")
    p.add_argument("--hparam", action="append", default=[], metavar="KEY=VALUE",
                   help="estimator hyperparameter, e.g. --hparam nu=0.5 (repeatable)")
    p.add_argument("--critic", choices=["separable", "joint", "bilinear"], default="separable")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds (default 5)")
    p.add_argument("--pmi-out", help="write the PMI (nats) of every input pair to this .csv/.parquet/.npy")
    p.add_argument("--width", type=int, help=f"critic hidden width (separable default {FIT_CRITIC['width']}, "
                                              "joint 256)")
    p.add_argument("--depth", type=int, help=f"critic depth (separable default {FIT_CRITIC['depth']}, joint 2)")
    p.add_argument("--no-gaussian-base", dest="gaussian_base", action="store_false",
                   help="separable critic without its Gaussian base (the exact Gaussian log-ratio of the normal "
                        "scores, which the network corrects; on by default)")
    for flag, kind, text in SETTINGS:
        p.add_argument(f"--{flag}", type=kind, help=f"{text} (default {FIT_SETTINGS[flag.replace('-', '_')]})")
    p.add_argument("--ema", type=float, help="decay of the moving average of the weights that the checks and the "
                   f"result use (default {FIT_SETTINGS['ema']}; 0: the last step's weights)")
    p.add_argument("--readout", choices=READOUTS, default=READOUT,
                   help=f"how the MI is read on the test rows (default {READOUT}: each seed's own readout, for "
                        "infonce_anchor the plug-in mean PMI, averaged; dv: the DV bound of the seeds' mean PMI)")
    p.add_argument("--val-fraction", type=float,
                   help="rows for early stopping (default 0.1, at least one batch of rows)")
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="rows the MI is read on (default 0.2; 0: read on the validation rows)")
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(fn=run)
    return p


def load_rows(path: str):
    """A ``[n, d]`` float array from .npy/.csv/.parquet; ValueError/FileNotFoundError naming the file."""
    import numpy as np
    import pandas as pd

    file = Path(path)
    if file.suffix.lower() not in INPUTS:
        raise ValueError(f"{path}: unsupported file type {file.suffix or '(none)'!r}; use one of {', '.join(INPUTS)}")
    if not file.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        if file.suffix.lower() == ".npy":
            return np.load(file, allow_pickle=False)
        if file.suffix.lower() == ".parquet":
            frame = pd.read_parquet(file)
        else:
            first = file.open().readline().strip().split(",")
            frame = pd.read_csv(file, header=0 if not all(_is_number(v) for v in first) else None)
    except (OSError, EOFError, ValueError, ImportError) as exc:
        raise ValueError(f"{path}: cannot read it: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    text = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise ValueError(f"{path}: non-numeric column(s) {text[:5]}; every column must hold numbers")
    return frame.to_numpy()


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def _parse_hparams(items: list[str]) -> dict:
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--hparam must look like KEY=VALUE, got {item!r}")
        out[key] = yaml.safe_load(value)
    return out


def _fit(args):
    import dataclasses

    from anchorbench.fit import FIT_DEFAULTS, fit_critic
    from anchorbench.fit.defaults import critic_spec

    out = args.pmi_out
    if out is not None and Path(out).suffix.lower() not in OUTPUTS:
        raise ValueError(f"--pmi-out {out}: unsupported file type; use one of {', '.join(OUTPUTS)}")
    x, y = load_rows(args.x), load_rows(args.y)
    critic = critic_spec(args.critic)
    for key in ("width", "depth"):
        if getattr(args, key) is not None:
            if args.critic == "bilinear":
                raise ValueError(f"--{key} does not apply to the bilinear critic")
            critic[key] = getattr(args, key)
    if not args.gaussian_base:
        if args.critic != "separable":
            raise ValueError("--no-gaussian-base applies to the separable critic only (the others have no base)")
        critic.pop("gaussian", None)
    given = {flag.replace("-", "_"): getattr(args, flag.replace("-", "_")) for flag, _, _ in SETTINGS}
    given = {k: v for k, v in given.items() if v is not None}
    if args.ema is not None:
        given["ema"] = args.ema if args.ema != 0 else None  # 0: off
    settings = dataclasses.replace(FIT_DEFAULTS, **given, device=args.device, progress=not args.quiet)
    fit = fit_critic(x, y, estimator=args.estimator, hparams=_parse_hparams(args.hparam), critic=critic,
                     seeds=args.seeds, val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                     split_seed=args.split_seed, settings=settings, readout=args.readout)
    return fit, x, y


def _readout_rows(fit) -> str:
    if len(fit.test_rows):
        return f"{len(fit.test_rows)} test"
    return f"{len(fit.val_rows)} validation (the early-stopping rows: no test rows)"


def disagreement(fit) -> str | None:
    """A line saying the seeds disagree, when their range exceeds DISAGREE of the mean estimate (else None)."""
    bits = [b for b, r in zip(fit.per_seed_bits, fit.results) if not r.diverged]
    spread = max(bits) - min(bits) if bits else 0.0
    if len(bits) < 2 or spread <= DISAGREE * abs(fit.mi_bits):
        return None
    return (f"WARNING: the seeds disagree: they span {spread:.4f} bits ({min(bits):.4f} to {max(bits):.4f}), more "
            f"than {DISAGREE:.0%} of the estimate; treat it as uncertain (more data, or more seeds with --seeds)")


def _report(fit, args, n: int) -> str:
    critic = args.critic + (" + Gaussian base" if args.critic == "separable" and args.gaussian_base else "")
    lines = [f"MI ({fit.estimator}, {critic} critic, {len(fit.results)} seed(s), read on {_readout_rows(fit)} "
             f"of {n} pairs): {fit.mi_bits:.4f} +- {fit.mi_bits_sd:.4f} bits "
             f"({fit.mi_nats:.4f} nats; {HOW[fit.readout]})"]
    per_seed = ", ".join(f"seed {r.run.seed}: " + (f"{bits:.4f}" if not r.diverged
                                                   else f"diverged at step {r.diverged_step}")
                         for bits, r in zip(fit.per_seed_bits, fit.results))
    lines.append(f"per seed (bits): {per_seed}")
    lines.append("steps to best state: " + ", ".join(str(r.best_step) for r in fit.results))
    warning = disagreement(fit)
    if warning:
        lines.append(warning)
    if fit.identified:
        lines.append(f"PMI identified: yes ({fit.estimator}'s critic estimates log p(x,y) / (p(x) p(y)) itself)")
    else:
        lines.append(f"PMI identified: no ({fit.estimator}'s critic is the PMI only up to a function of y or a "
                     f"constant; the MI printed is its bound)")
    return "\n".join(lines)


def _write_pmi(fit, x, y, out: str) -> None:
    import warnings

    import numpy as np
    import pandas as pd

    from anchorbench.io import atomic_path, write_frame

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the report already says whether the PMI is identified
        pmi = fit.pmi(x, y)
    if Path(out).suffix.lower() == ".npy":
        with atomic_path(out) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, pmi)
        return
    split = np.full(len(x), "train", dtype=object)
    split[fit.val_rows] = "val"
    split[fit.test_rows] = "test"
    write_frame(out, pd.DataFrame({"row": np.arange(len(x)), "split": split, "pmi_nats": pmi}))


def run(args) -> int:
    """Fit, print the MI report, write the PMI file; 2 with a one-line error on bad input."""
    try:
        fit, x, y = _fit(args)
        if not fit.ok:
            raise ValueError(f"every seed diverged (first at step {fit.results[0].diverged_step}); "
                             f"try a smaller --lr")
        print(_report(fit, args, len(x)))
        if args.pmi_out:
            _write_pmi(fit, x, y, args.pmi_out)
            print(f"PMI (nats) of {len(x)} pairs written to {args.pmi_out}")
    except (ValueError, FileNotFoundError) as exc:
        print(f"anchorbench: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    return 0
