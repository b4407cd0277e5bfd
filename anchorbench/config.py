"""params.yaml, validated: the root model assembled from every experiment's sections.

Each experiment package owns its sections and its profile presets (``anchorbench/<experiment>/config.py``).
Scale keys left ``null`` in params.yaml are filled from the chosen ``profile`` (smoke, default, paper);
an explicit value always wins, so ``dvc exp run -S mi_benchmark.seeds=5`` works under any profile.
Errors name the key and the allowed values.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError, create_model, model_validator

from anchorbench import experiments
from anchorbench.sections import Section

Profile = Literal[experiments.PROFILE_NAMES]
PROFILE_NAMES = experiments.PROFILE_NAMES
CONFIGS = {key: experiments.config(key) for key in experiments.REGISTRY}  # each experiment's sections, profiles

# Every experiment's presets, merged: {profile: {"section.key": value}}.
PROFILES: dict[str, dict[str, object]] = {
    name: {k: v for module in CONFIGS.values() for k, v in module.PROFILES.get(name, {}).items()}
    for name in PROFILE_NAMES}


class _Root(Section):
    """The whole params.yaml: the profile and one section per DVC stage of every registered experiment."""

    profile: Profile = "default"

    @model_validator(mode="after")
    def _consistent_sections(self):
        for module in CONFIGS.values():
            getattr(module, "check", lambda params: None)(self)  # checks across one experiment's sections
        return self

    def section_hash(self, *sections: str) -> str:
        """Short hash of the named sections, for MLflow tags and cache keys."""
        blob = json.dumps({s: getattr(self, s).model_dump(mode="json") for s in sections}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _field(model: type[Section]):
    """A section field: defaults to the section's own defaults where it has them all, else required."""
    try:
        return model, model()
    except ValidationError:
        return model, ...


_SECTIONS = {name: _field(model) for module in CONFIGS.values() for name, model in module.SECTIONS.items()}
Params = create_model("Params", __base__=_Root, __module__=__name__, **_SECTIONS)


def _apply_profile(raw: dict) -> dict:
    profile = raw.get("profile", "default")
    if profile not in PROFILES:
        raise ValueError(f"params.yaml: profile: must be one of {list(PROFILE_NAMES)}, got {profile!r}")
    for dotted, value in PROFILES[profile].items():  # "section.key" or "section.sub.key"
        *parents, key = dotted.split(".")
        block = raw
        for name in parents:
            if block.get(name) is None:
                block[name] = {}
            block = block[name]
            if not isinstance(block, dict):
                break  # a wrong type: validation names it
        else:
            if block.get(key) is None:
                block[key] = copy.deepcopy(value)
    return raw


def parse_params(raw: dict) -> Params:
    """Validate a params dict; raise ValueError whose message names the bad key and the allowed values."""
    if not isinstance(raw, dict):
        raise ValueError(f"params.yaml: must be a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(_apply_profile(copy.deepcopy(raw)))
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling against params.yaml)"
            lines.append(f"params.yaml: {key}: {msg}" if key else f"params.yaml: {msg}")
        raise ValueError("\n".join(lines)) from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate a params file (a missing or unparsable file is a ValueError naming it)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"params file {str(path)!r} not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"params file {str(path)!r} is not valid YAML{where}: "
                         f"{getattr(exc, 'problem', None) or exc}") from None
    return parse_params(raw)
