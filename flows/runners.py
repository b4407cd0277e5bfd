"""Task-runner choice for the training fan-out: threads by default, Dask when asked.

``ANCHORBENCH_TASK_RUNNER``: ``thread`` (default; one worker, since each group already uses every
core through torch) or ``dask`` (prefect-dask's DaskTaskRunner). ``ANCHORBENCH_DASK_ADDRESS`` points
at an existing cluster (``tcp://scheduler:8786``, any number of nodes); without it a LocalCluster of
``ANCHORBENCH_DASK_WORKERS`` single-threaded worker processes starts on this machine.
"""

from __future__ import annotations

import os

RUNNERS = ("thread", "dask")


def task_runner():
    from prefect.task_runners import ThreadPoolTaskRunner

    kind = os.environ.get("ANCHORBENCH_TASK_RUNNER", "thread")
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=int(os.environ.get("ANCHORBENCH_THREADS", "1")))
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        address = os.environ.get("ANCHORBENCH_DASK_ADDRESS")
        if address:
            return DaskTaskRunner(address=address)
        workers = int(os.environ.get("ANCHORBENCH_DASK_WORKERS", "2"))
        return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                              cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                              "dashboard_address": None})
    raise ValueError(f"ANCHORBENCH_TASK_RUNNER must be one of {RUNNERS}, got {kind!r}")
