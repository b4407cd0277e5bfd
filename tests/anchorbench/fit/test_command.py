"""`anchorbench estimate` end to end on tiny .npy/.csv/.parquet inputs: output parses; bad input -> exit 2 and
one `anchorbench: error:` line, nothing written."""

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from anchorbench.fit.command import disagreement
from flows.cli import main

FAST = ["--seeds", "2", "--max-steps", "60", "--check-every", "20", "--patience", "40", "--batch-size", "16",
        "--lr", "1e-3", "--width", "16", "--depth", "1", "--quiet", "--device", "cpu"]


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3))
    y = 0.8 * x[:, :2] + 0.6 * rng.standard_normal((200, 2))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    pd.DataFrame(y, columns=["a", "b"]).to_csv(tmp_path / "y_header.csv", index=False)
    np.savetxt(tmp_path / "x_plain.csv", x, delimiter=",")
    pd.DataFrame(x, columns=["p", "q", "r"]).to_parquet(tmp_path / "x.parquet")
    return tmp_path


@pytest.mark.parametrize("xs, ys, out", [("x.npy", "y.npy", "pmi.csv"), ("x_plain.csv", "y_header.csv", "pmi.npy"),
                                         ("x.parquet", "y.npy", "pmi.parquet")])
def test_estimate_prints_mi_and_writes_pmi(files, capsys, xs, ys, out):
    code = main(["estimate", str(files / xs), str(files / ys), "--pmi-out", str(files / out), *FAST])
    printed = capsys.readouterr().out
    assert code == 0, printed
    mean, sd = map(float, re.search(r"([-\d.]+) \+- ([-\d.]+) bits", printed).groups())
    seeds = [float(v) for v in re.findall(r"seed \d+: ([-\d.]+)", printed)]
    # the MI is the mean of the seeds' own readouts (infonce_anchor: the plug-in mean PMI of the test pairs)
    assert len(seeds) == 2 and mean == pytest.approx(np.mean(seeds), abs=1e-4) and sd >= 0
    assert "read on 40 test of 200 pairs" in printed and "PMI identified: yes" in printed
    assert "mean +- SD over seeds of the estimator's readout" in printed
    if out.endswith(".npy"):
        pmi = np.load(files / out)
    else:
        frame = pd.read_csv(files / out) if out.endswith(".csv") else pd.read_parquet(files / out)
        assert list(frame.columns) == ["row", "split", "pmi_nats"]
        assert frame.split.value_counts().to_dict() == {"train": 140, "val": 20, "test": 40}  # val: 10 %
        pmi = frame.pmi_nats.to_numpy()
    assert pmi.shape == (200,) and np.isfinite(pmi).all()


def test_unidentified_estimator_is_flagged(files, capsys):
    assert main(["estimate", str(files / "x.npy"), str(files / "y.npy"), "--estimator", "infonce", *FAST]) == 0
    assert "PMI identified: no" in capsys.readouterr().out


def test_the_gaussian_base_is_on_by_default_and_can_be_turned_off(files, capsys):
    args = ["estimate", str(files / "x.npy"), str(files / "y.npy"), *FAST]
    assert main(args) == 0
    with_base = capsys.readouterr().out
    assert main([*args, "--no-gaussian-base"]) == 0
    without = capsys.readouterr().out
    assert "separable + Gaussian base critic" in with_base and "(infonce_anchor, separable critic" in without
    bits = [re.search(r"([-\d.]+) \+- ", out).group(1) for out in (with_base, without)]
    assert bits[0] != bits[1]  # the flag reaches the critic


def test_the_moving_average_is_on_by_default_and_ema_0_turns_it_off(files, capsys, monkeypatch):
    import anchorbench.fit as fit_package  # the command imports fit_critic from it when it runs

    seen, real = [], fit_package.fit_critic
    monkeypatch.setattr(fit_package, "fit_critic", lambda *a, **k: (seen.append(k["settings"].ema), real(*a, **k))[1])
    for extra in ([], ["--ema", "0"], ["--ema", "0.9"]):
        assert main(["estimate", str(files / "x.npy"), str(files / "y.npy"), *FAST, *extra]) == 0
    assert seen == [0.99, None, 0.9]


def test_readout_dv_reads_the_bound_of_the_seeds_mean_pmi(files, capsys):
    args = ["estimate", str(files / "x.npy"), str(files / "y.npy"), *FAST]
    assert main([*args, "--readout", "dv"]) == 0
    printed = capsys.readouterr().out
    mean = float(re.search(r"([-\d.]+) \+- ", printed).group(1))
    seeds = [float(v) for v in re.findall(r"seed \d+: ([-\d.]+)", printed)]
    # DV is concave in the critic: the bound of the seeds' mean PMI is >= the mean of the seeds' bounds
    assert "DV readout of the seeds' mean PMI" in printed and mean >= np.mean(seeds) - 1e-3
    with pytest.raises(SystemExit) as exc:
        main([*args, "--readout", "plugin"])
    assert exc.value.code == 2 and "argument --readout: invalid choice: 'plugin'" in capsys.readouterr().err


def test_without_test_rows_the_validation_rows_read_out(files, capsys):
    assert main(["estimate", str(files / "x.npy"), str(files / "y.npy"), "--test-fraction", "0", *FAST]) == 0
    assert "read on 20 validation (the early-stopping rows: no test rows) of 200 pairs" in capsys.readouterr().out


@pytest.mark.parametrize("bits, warned", [([1.0, 1.05, 0.96], False), ([1.0, 1.2, 0.95], True), ([0.5], False)])
def test_seed_disagreement_line(bits, warned):
    """Warned when the seeds' range exceeds 10 % of the estimate (here their mean)."""
    fit = SimpleNamespace(per_seed_bits=bits, results=[SimpleNamespace(diverged=False)] * len(bits),
                          mi_bits=float(np.mean(bits)))
    line = disagreement(fit)
    assert (line is not None) == warned
    if warned:
        assert line.startswith("WARNING: the seeds disagree") and "0.2500 bits (0.9500 to 1.2000)" in line


def _bad_files(tmp):
    rng = np.random.default_rng(1)
    np.save(tmp / "short.npy", rng.standard_normal((150, 2)))
    nan = rng.standard_normal((200, 2))
    nan[5, 1] = np.nan
    np.save(tmp / "nan.npy", nan)
    const = rng.standard_normal((200, 2))
    const[:, 0] = 3.0
    np.save(tmp / "const.npy", const)
    (tmp / "text.csv").write_text("a,b\n" + "\n".join(f"{i},x{i}" for i in range(200)) + "\n")
    np.save(tmp / "tiny_x.npy", rng.standard_normal((20, 2)))
    np.save(tmp / "tiny_y.npy", rng.standard_normal((20, 2)))
    (tmp / "x.txt").write_text("1 2\n")
    (tmp / "broken.npy").write_bytes(b"not an npy file")


BAD = [
    (["short.npy", "y.npy"], "same number of rows"),
    (["nan.npy", "y.npy"], "NaN or inf"),
    (["x.npy", "const.npy"], "constant column"),
    (["text.csv", "y.npy"], "non-numeric column"),
    (["tiny_x.npy", "tiny_y.npy"], "too few samples"),
    (["x.txt", "y.npy"], "unsupported file type"),
    (["missing.npy", "y.npy"], "no such file"),
    (["broken.npy", "y.npy"], "cannot read it"),
    (["x.npy", "y.npy", "--estimator", "nope"], "unknown estimator"),
    (["x.npy", "y.npy", "--hparam", "nu"], "KEY=VALUE"),
    (["x.npy", "y.npy", "--pmi-out", "out.txt"], "unsupported file type"),
    (["x.npy", "y.npy", "--critic", "joint", "--no-gaussian-base"], "separable critic only"),
    (["x.npy", "y.npy", "--ema", "1.5"], "TrainSettings.ema must be a decay in"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[m for _, m in BAD])
def test_bad_input_is_one_error_line_and_exit_2(files, capsys, args, message):
    _bad_files(files)
    out = files / "pmi.csv"
    argv = ["estimate", *[str(files / a) if a.endswith((".npy", ".csv", ".txt")) else a for a in args],
            *FAST]
    if "--pmi-out" not in args:
        argv += ["--pmi-out", str(out)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("anchorbench: error:") and message in lines[0], captured.err
    assert "Traceback" not in captured.err and not out.exists() and not (files / "out.txt").exists()
