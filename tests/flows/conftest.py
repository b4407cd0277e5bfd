"""Prefect test harness (one temporary server for the session) and isolated stores per test."""

import pytest


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Outputs, MLflow and Optuna stores under tmp_path."""
    from anchorbench import paths

    monkeypatch.setenv(paths.OUTPUTS_ENV, str(tmp_path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("ANCHORBENCH_HOME", str(tmp_path))
    return tmp_path
