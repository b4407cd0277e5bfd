"""Params files for tests: the repo's params.yaml at the smoke profile, with some sections' keys overridden."""

from pathlib import Path

import yaml

from anchorbench.paths import REPO


def smoke_params(folder: Path, **sections: dict) -> Path:
    """Write ``folder/params.yaml``: params.yaml with ``profile: smoke`` and each ``section`` updated by its
    dict (``smoke_params(tmp, ssl={"seeds": 2})``); return its path."""
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["profile"] = "smoke"
    for name, values in sections.items():
        raw[name] |= values
    path = Path(folder) / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path
