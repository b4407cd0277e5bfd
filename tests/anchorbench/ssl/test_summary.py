"""The SSL tables: every in-training readout beside its cap, the reachable InfoNCE ceiling, and every value above
H(C) flagged in mi.csv and metrics.json."""

import math

import pytest

from anchorbench.config import parse_params
from anchorbench.ssl.config import INFONCE, RANDOM_INIT
from anchorbench.ssl.objectives import infonce_ceiling_bits
from anchorbench.ssl.summary import metrics, mi_table, probe_table
from tests.anchorbench.ssl.rows import unit_row
from tests.anchorbench.ssl.test_config import _raw

POST_BATCH = 512


def _rows() -> list[dict]:
    """H(C) = 2 (c) and 6 (cdp): the anchor's post-training estimate (post + 0.5) exceeds H(C) at c; the B = 4
    InfoNCE readouts sit below their cap log2 3."""
    rows = []
    for seed in (0, 1):
        rows += [unit_row(INFONCE, "c", seed, 0.9, 1.6 + 0.1 * seed), unit_row(INFONCE, "cdp", seed, 0.9, 5.0),
                 unit_row(INFONCE, "cdp", seed, 0.8, 3.0, batch=4, train=1.2),
                 unit_row("infonce_anchor", "cdp", seed, 0.9, 6.2, train=6.1),
                 unit_row(RANDOM_INIT, "c", seed, 0.5, 1.0)]
    return rows


def test_every_in_training_readout_has_its_cap_and_the_infonce_ones_their_ceiling():
    mi = mi_table(_rows(), POST_BATCH)
    train = mi[mi.phase == "in_training"]
    assert len(train) == 8 and RANDOM_INIT not in set(train.objective)  # the untrained baseline has no readout
    infonce = train[train.objective == INFONCE].set_index(["pairing", "batch_size"])
    assert infonce.loc[("cdp", 4), "cap_bits"].iloc[0] == pytest.approx(math.log2(3))
    assert infonce.loc[("cdp", 4), "ceiling_bits"].iloc[0] == pytest.approx(infonce_ceiling_bits(3, 6.0))
    assert infonce.loc[("c", 64), "ceiling_bits"].iloc[0] == pytest.approx(infonce_ceiling_bits(63, 2.0))
    anchor = train[train.objective == "infonce_anchor"]
    assert (anchor.cap == "1/tau").all() and anchor.ceiling_bits.isna().all()  # a plug-in readout: no ceiling
    post = mi[(mi.phase == "post_training") & (mi.estimator == "infonce")]
    assert (post.cap_bits == math.log2(POST_BATCH)).all()  # the registry's InfoNCE: K = B
    assert post.ceiling_bits.round(6).isin({round(infonce_ceiling_bits(POST_BATCH, h), 6) for h in (2, 6)}).all()


def test_every_value_above_hc_is_flagged():
    rows = _rows()
    mi = mi_table(rows, POST_BATCH)
    expected = mi.mi_bits > mi.true_mi_bits
    assert expected.any() and (mi.above_hc == expected).all()
    # in-training (anchor readout 6.1 > 6) and post-training (anchor 6.7 > 6, c: 2.1 and 2.2 > 2) values alike
    flagged = mi[mi.above_hc]
    assert set(flagged.phase) == {"in_training", "post_training"}
    p = parse_params(_raw()).ssl.model_copy(update={"batch_size": 64, "small_batch": 4})
    out = metrics(probe_table(rows), mi, p)
    assert out["above_hc"]["count"] == len(flagged) == len(out["above_hc"]["values"])
    assert {(v["unit"], v["phase"], v["estimator"]) for v in out["above_hc"]["values"]} == {
        (f"{r.objective}|{r.pairing}|B{r.batch_size}|s{r.seed}", r.phase, r.estimator) for r in flagged.itertuples()}
    cell = out["in_training"][f"{INFONCE}|cdp|B4"]
    assert cell["cap"] == "log K (K = 3)"
    assert cell["ceiling_bits"] == pytest.approx(infonce_ceiling_bits(3, 6), abs=1e-4)
    assert cell["seeds"] == 2 and cell["mi_bits"] == 1.2
