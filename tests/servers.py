"""Start and stop real servers on loopback for tests (Prefect, MLflow), by PID."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 120.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@contextmanager
def background(cmd: list[str], env: dict, log: Path, health: str | None = None, cwd: Path | None = None):
    """Run ``cmd`` in its own process group; wait for ``health``; kill the group on exit."""
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
    try:
        if health:
            wait_http(health, proc=proc)
        yield proc
    finally:
        try:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=20)
        except ProcessLookupError:  # already gone (it failed to start)
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


def base_env(tmp: Path) -> dict:
    return os.environ | {"PATH": f"{BIN}:{os.environ['PATH']}", "PREFECT_HOME": str(tmp / "prefect"),
                         "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "MLFLOW_DISABLE_TELEMETRY": "true",
                         "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "DVC_NO_ANALYTICS": "1",
                         "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket listening in process ``pid`` or its descendants."""
    import psutil

    root = psutil.Process(pid)
    found = set()
    for proc in [root, *root.children(recursive=True)]:
        try:
            found |= {(c.laddr.ip, c.laddr.port) for c in proc.net_connections(kind="tcp")
                      if c.status == psutil.CONN_LISTEN}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found
