"""The layering the README and CONTRIBUTING.md state: estimators/ and anchorbench/ never import
Prefect or DVC (orchestration lives in tasks/ and flows/); estimators/ imports no MLflow either."""

import subprocess
import sys

import pytest

from anchorbench.bmi import BMI_ENV_SCRIPTS
from anchorbench.paths import REPO


def _modules(package: str) -> list[str]:
    """Every module of ``package`` but the scripts that run in bmi's own environment (they import bmi)."""
    scripts = {REPO / "anchorbench" / "bmi" / name for name in BMI_ENV_SCRIPTS}
    return sorted(".".join(p.relative_to(REPO).with_suffix("").parts) for p in (REPO / package).rglob("*.py")
                  if (p.name != "__init__.py" or p.parent != REPO / package) and p not in scripts)


@pytest.mark.parametrize("package,forbidden", [("estimators", ("prefect", "dvc", "mlflow")),
                                               ("anchorbench", ("prefect", "dvc"))])
def test_lower_layers_do_not_import_orchestration(package, forbidden):
    modules = _modules(package)
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m.removesuffix('.__init__'))\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", f"{package} imports {out.stdout.strip()}"
