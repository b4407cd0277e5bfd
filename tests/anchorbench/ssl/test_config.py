"""The ssl_data / ssl_tune / ssl params sections: profiles fill the scale keys; bad values name the key."""

import pytest
import yaml

from anchorbench.config import parse_params
from anchorbench.paths import REPO


def _raw(**ssl):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw.setdefault("ssl", {})
    raw["ssl"] = {**(raw["ssl"] or {}), **ssl}
    return raw


def test_profiles_fill_scale_keys():
    for profile in ("smoke", "default", "paper"):
        raw = _raw()
        raw["profile"] = profile
        p = parse_params(raw)
        assert p.ssl.steps and p.ssl.batch_size and p.ssl.pairings and p.ssl_data.probe_sizes
        assert p.ssl.post_batch_size > p.ssl.batch_size
    paper = parse_params({**_raw(), "profile": "paper"}).ssl
    assert paper.dataset == "cifar100" and paper.encoder == "resnet18"  # the paper's network stays in its profile


def test_default_profile_has_the_seeds_the_verdicts_need():
    p = parse_params({**_raw(), "profile": "default"}).ssl
    assert p.seeds >= 5 and p.encoder == "convnet" and p.random_init
    assert p.steps_at(p.small_batch) * p.small_batch == p.steps * p.batch_size  # small batch: equal pairs seen


@pytest.mark.parametrize("key, value, message", [
    ("objectives", ["simclr"], r"ssl\.objectives\.0: .*unknown estimator 'simclr'"),
    ("pairings", ["cx"], "ssl.pairings"),
    ("post_estimators", ["nope"], "unknown estimator"),
    ("temperatures", {"infonce_anchor": 0.0}, "temperatures must be > 0"),
    ("temperature", 0, r"ssl\.temperature: .*greater than 0"),
    ("post_batch_size", 8, "must exceed the training batch_size"),
    ("lr", -1, "ssl.lr"),
    ("encoder", "vit", r"ssl\.encoder: .*'resnet18' or 'convnet'"),
    ("pd_critic_lr", 0, r"ssl\.pd_critic_lr: .*greater than 0"),
    ("colour", 1, "unknown key"),
])
def test_bad_ssl_values(key, value, message):
    with pytest.raises(ValueError, match=message):
        parse_params(_raw(**{key: value}))


def test_bad_cdp_values():
    raw = _raw()
    raw["ssl_data"] = {**(raw.get("ssl_data") or {}), "digits": [0, 0, 1, 2]}
    with pytest.raises(ValueError, match="ssl_data.digits"):
        parse_params(raw)
    raw["ssl_data"] = {"glyph_source": "emnist"}
    with pytest.raises(ValueError, match="ssl_data.glyph_source"):
        parse_params(raw)


def test_nu_goes_where_the_label_leaves_it_unset():
    p = parse_params(_raw())
    assert p.ssl.nu_of("infonce_anchor") == p.ssl.nu and p.ssl.nu_of("infonce_anchor(K=1)") == p.ssl.nu
    assert p.ssl.nu_of("scoring_rule(nu=0)") is None  # the label fixes it
    assert p.ssl.nu_of("binary_rule(alpha=2, parametrization=pd, rule=power)") is None  # takes no nu


def test_cifar_needs_augmentation_pairs():
    with pytest.raises(ValueError, match="only \\['aug'\\]"):
        parse_params(_raw(dataset="cifar100", pairings=["cd"]))
