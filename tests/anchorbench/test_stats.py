"""anchorbench.stats: verdicts follow the evidence, the margin and Holm; edge cases are explicit; output is strict."""

import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from anchorbench.stats import (
    BOOTSTRAP_MIN_N,
    CONTRADICTED,
    NOT_ESTABLISHED,
    REPRODUCED,
    Claim,
    Comparison,
    all_of,
    correlation,
    decide,
    holm,
    markdown_table,
    one_sample,
    paired,
    to_json,
)

RNG = np.random.default_rng(0)
BASE = RNG.normal(3.0, 1.0, 12)  # per-seed values shared by both arms: pairing removes them
NOISE = RNG.normal(0.0, 0.1, 12)


def _verdict(comparison: Comparison, alpha=0.05) -> str:
    return decide([Claim("c", "claim", "statistic", comparison)], alpha)[0].verdict


def _given(p_greater: float, p_less: float = 1.0) -> Comparison:
    return Comparison("t", 5, 0, 0.0, 1.0, -1.0, 1.0, 0.95, 0.0, p_greater, p_less)


@pytest.mark.parametrize("method", ["t", "bootstrap"])
def test_the_three_verdicts(method):
    assert _verdict(paired(BASE + 1.0 + NOISE, BASE, method=method)) == REPRODUCED
    assert _verdict(paired(BASE - 1.0 + NOISE, BASE, method=method)) == CONTRADICTED
    noise = np.random.default_rng(1).normal(size=(2, 3))
    assert _verdict(paired(noise[0], noise[1], method=method)) == NOT_ESTABLISHED


def test_an_effect_inside_the_margin_is_never_established():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=100_000), rng.normal(size=100_000)
    tiny = paired(b + 0.01 + 0.01 * a, b, margin=0.05)
    assert tiny.estimate == pytest.approx(0.01, abs=1e-3) and tiny.ci_high < 0.05
    assert _verdict(tiny) == NOT_ESTABLISHED
    assert _verdict(paired(b + 0.01 + 0.01 * a, b)) == REPRODUCED  # without the margin it would be
    assert _verdict(paired(b - 0.01 + 0.01 * a, b, margin=0.05)) == NOT_ESTABLISHED


def test_t_matches_scipy():
    a, b = BASE + 0.05 + NOISE, BASE
    for margin in (0.0, 0.02):
        c = paired(a, b, margin=margin, confidence=0.9)
        assert c.p_greater == pytest.approx(sps.ttest_rel(a - margin, b, alternative="greater").pvalue, rel=1e-9)
        assert c.p_less == pytest.approx(sps.ttest_rel(a + margin, b, alternative="less").pvalue, rel=1e-9)
        d = a - b
        low, high = sps.t.interval(0.9, d.size - 1, loc=d.mean(), scale=sps.sem(d))
        assert (c.ci_low, c.ci_high) == pytest.approx((low, high), rel=1e-12)
        assert c.n == 12 and c.sd == pytest.approx(d.std(ddof=1)) and c.method == "t"


def test_bootstrap_is_seeded_and_agrees_with_t_on_normal_data():
    a, b = np.random.default_rng(3).normal(size=(2, 200))
    one, same = paired(a, b, method="bootstrap", seed=7), paired(a, b, method="bootstrap", seed=7)
    assert one == same and one.method == "bootstrap"
    assert paired(a, b, method="bootstrap", seed=8).ci_low != one.ci_low
    t = paired(a, b)
    assert (one.ci_low, one.ci_high) == pytest.approx((t.ci_low, t.ci_high), abs=0.03)
    assert one.p_greater == pytest.approx(t.p_greater, abs=0.02)
    assert one.p_greater + one.p_less >= 1


def test_bootstrap_of_few_seeds_uses_t():
    """Two positive differences: every bootstrap resample is positive, which is no evidence of anything."""
    few = paired([1.0, 2.0], [0.0, 0.5], method="bootstrap")
    assert few == paired([1.0, 2.0], [0.0, 0.5]) and few.method == "t"
    assert _verdict(few) == NOT_ESTABLISHED
    enough = paired(np.arange(BOOTSTRAP_MIN_N) + 1.0, np.zeros(BOOTSTRAP_MIN_N), method="bootstrap")
    assert enough.method == "bootstrap"


def test_nan_pairs_are_dropped_and_counted():
    a, b = BASE + 1.0 + NOISE, BASE.copy()
    a[1], b[4], b[7] = np.nan, np.nan, np.inf
    keep = np.ones(12, bool)
    keep[[1, 4, 7]] = False
    c = paired(a, b)
    assert c.n == 9 and c.dropped == 3
    assert c.estimate == pytest.approx(paired(a[keep], b[keep]).estimate)
    assert paired([np.nan, 1.0], [0.0, np.nan]).method == "insufficient"


def test_one_pair_is_not_evidence():
    c = paired([5.0], [1.0])
    assert (c.n, c.estimate, c.method, c.p_greater, c.p_less) == (1, 4.0, "insufficient", 1.0, 1.0)
    assert math.isnan(c.ci_low) and math.isnan(c.sd)
    assert _verdict(c) == NOT_ESTABLISHED
    assert math.isnan(paired([], []).estimate)


def test_identical_differences_decide_by_sign_and_margin():
    up = paired([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])  # every difference is exactly 1
    assert (up.method, up.sd, up.ci_low, up.ci_high, up.p_greater, up.p_less) == ("exact", 0.0, 1.0, 1.0, 0.0, 1.0)
    assert _verdict(up) == REPRODUCED
    assert _verdict(paired([2.0, 3.0], [1.0, 2.0], margin=0.5)) == REPRODUCED
    assert _verdict(paired([2.0, 3.0], [1.0, 2.0], margin=1.0)) == NOT_ESTABLISHED  # not beyond the margin
    assert _verdict(paired([1.0, 2.0], [2.0, 3.0])) == CONTRADICTED
    assert _verdict(paired([1.0, 2.0], [1.0, 2.0])) == NOT_ESTABLISHED


def test_one_sample_is_oriented_so_the_claim_reads_greater():
    log_k = math.log(64)
    below = one_sample(log_k - 0.5 + NOISE, log_k, side="below", margin=0.1)
    assert below.estimate == pytest.approx(0.5 - NOISE.mean()) and _verdict(below) == REPRODUCED
    above = one_sample(log_k - 0.5 + NOISE, log_k, side="above")
    assert above.estimate == pytest.approx(-below.estimate) and _verdict(above) == CONTRADICTED
    per_trial = one_sample([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], side="below")
    assert per_trial.method == "exact" and per_trial.estimate == 1.0
    with pytest.raises(ValueError, match="side"):
        one_sample([1.0], 2.0, side="under")


def test_correlation():
    rng = np.random.default_rng(4)
    x = rng.normal(size=40)
    y = x + rng.normal(size=40)
    c = correlation(x, y, confidence=0.9)
    ref = sps.pearsonr(x, y)
    assert c.estimate == pytest.approx(ref.statistic)
    ci = ref.confidence_interval(0.9)
    assert (c.ci_low, c.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert _verdict(c) == REPRODUCED and _verdict(correlation(x, -y)) == CONTRADICTED
    assert _verdict(correlation(x, y, margin=0.95)) == NOT_ESTABLISHED
    assert correlation(x[:3], y[:3]).method == "insufficient"  # n < 4
    assert correlation(np.ones(10), y[:10]).method == "insufficient"  # constant: r undefined
    line = correlation([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0])  # r = 1 exactly
    assert (line.method, line.estimate, line.p_greater) == ("exact", 1.0, 0.0) and _verdict(line) == REPRODUCED
    assert _verdict(correlation([1.0, 2.0, 3.0, 4.0], [-2.0, -4.0, -6.0, -8.0])) == CONTRADICTED


def test_holm_against_a_hand_computed_example():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> running max 0.02, 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    claims = [Claim(f"c{i}", "t", "s", _given(p)) for i, p in enumerate([0.01, 0.04, 0.03, 0.005])]
    decided = decide(claims)
    assert [c.verdict for c in decided] == [REPRODUCED, NOT_ESTABLISHED, NOT_ESTABLISHED, REPRODUCED]
    assert [c.p_adjusted for c in decided] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    opposite = decide([Claim("a", "t", "s", _given(0.996, 0.004)), Claim("b", "t", "s", _given(0.02))])
    assert [c.verdict for c in opposite] == [CONTRADICTED, REPRODUCED]
    assert opposite[0].p_adjusted_opposite == pytest.approx(0.008)


def test_decide_rejects_what_would_allow_two_verdicts():
    with pytest.raises(ValueError, match="p_greater"):
        _given(0.01, 0.01)
    with pytest.raises(ValueError, match="alpha"):
        decide([], alpha=0.6)
    with pytest.raises(ValueError, match="unique"):
        decide([Claim("x", "t", "s", _given(0.5)), Claim("x", "t", "s", _given(0.5))])
    rng = np.random.default_rng(5)
    for _ in range(50):
        a, b = rng.normal(size=(2, 4))
        for c in (paired(a, b, margin=0.1), paired(a, b, margin=0.1, method="bootstrap"), correlation(a, b)):
            assert c.p_greater + c.p_less >= 1 - 1e-12


def test_all_of_is_an_intersection_union_test():
    better, worse = paired(BASE + 1.0 + NOISE, BASE), paired(BASE - 1.0 + NOISE, BASE)
    noise = paired(BASE + NOISE, BASE)
    assert _verdict(all_of([better, better])) == REPRODUCED
    assert _verdict(all_of([better, noise])) == NOT_ESTABLISHED
    assert _verdict(all_of([better, worse])) == CONTRADICTED
    compound = all_of([better, noise, worse])
    assert compound.p_greater == worse.p_greater and compound.estimate == worse.estimate  # the binding one
    assert compound.p_less == pytest.approx(min(1.0, 3 * worse.p_less)) and compound.method == "all of 3 (t)"
    with pytest.raises(ValueError, match="margin"):
        all_of([better, paired(BASE + 1.0, BASE, margin=0.1)])


def test_json_is_strict_and_complete():
    claims = decide([Claim("anchor_vs_nwj", "anchor has a smaller |bias| than NWJ", "|bias| (bits), NWJ - anchor",
                           paired(BASE + 1.0 + NOISE, BASE)),
                     Claim("one_seed", "one seed", "bits", paired([1.0], [0.0]))])
    entries = to_json(claims)
    text = json.dumps(entries, allow_nan=False)
    assert json.loads(text) == entries
    assert list(entries[0]) == ["id", "claim", "statistic", "n", "n_dropped", "estimate", "ci_low", "ci_high",
                                "confidence", "margin", "p_adjusted", "p_adjusted_opposite", "verdict", "method"]
    assert entries[0]["verdict"] == REPRODUCED and entries[1]["ci_low"] is None and entries[1]["n"] == 1
    with pytest.raises(ValueError, match="decide"):
        to_json([Claim("x", "t", "s", _given(0.5))])


def test_markdown_table_renders_entries_read_back():
    a = BASE + 1.0 + NOISE
    a[0] = np.nan
    claims = decide([Claim("a", "anchor has a smaller |bias|", "|bias| (bits)", paired(a, BASE)),
                     Claim("b", "one seed", "bits", paired([-0.0001], [0.0]))])
    entries = json.loads(json.dumps(to_json(claims)))
    c = claims[0].comparison
    table = markdown_table(entries, digits=2)
    lines = table.splitlines()
    assert lines[0] == "| claim | statistic | n | estimate [CI] | verdict |" and len(lines) == 4
    assert lines[2] == (rf"| anchor has a smaller \|bias\| | \|bias\| (bits) | 11 (1 dropped) | "
                        f"{c.estimate:.2f} [{c.ci_low:.2f}, {c.ci_high:.2f}] | reproduced |")
    assert lines[3] == "| one seed | bits | 1 | 0.00 [n/a, n/a] | not established |"  # no "-0.00"


def test_clear_verdicts_survive_rounding_noise():
    """Another CPU's rounding (1e-6 relative) changes no verdict whose evidence is clear."""
    rng = np.random.default_rng(6)
    big_a, big_b = rng.normal(size=(2, 5000))
    cases = [(BASE + 1.0 + NOISE, BASE, 0.0), (BASE - 1.0 + NOISE, BASE, 0.0),
             (np.array([2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0]), 0.0),  # identical differences
             (big_b + 0.01 + 0.01 * big_a, big_b, 0.05)]  # an effect well inside the margin

    def verdicts(jitter):
        claims = [Claim(f"c{i}", "t", "s", paired(a * jitter(a), b * jitter(b), margin=m))
                  for i, (a, b, m) in enumerate(cases)]
        return [c.verdict for c in decide(claims)]

    clean = verdicts(lambda x: 1.0)
    assert clean == [REPRODUCED, CONTRADICTED, REPRODUCED, NOT_ESTABLISHED]
    for seed in range(10):
        noise = np.random.default_rng(seed)
        assert verdicts(lambda x: 1 + 1e-6 * noise.standard_normal(x.shape)) == clean
