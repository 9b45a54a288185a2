"""Transport runners for the contract suite: ``run(cfg, workdir) -> master summary``.

Add a transport by adding one entry to ``RUNNERS`` (the MPI runner launches
``mpirun -n n+1 election mpi ...`` and returns rank 0's JSON summary).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from election.config import TrainConfig
from election.training.distributed import run_master, run_worker
from election.training.nodes import MasterNode, WorkerNode
from election.training.setup import prepare
from election.transport.inprocess import InProcessHub

Runner = Callable[[TrainConfig, Path], dict[str, Any]]
TIMEOUT_S = 240.0


def run_inprocess_hub(cfg: TrainConfig, workdir: Path) -> dict[str, Any]:
    """run_master + one run_worker thread per slot over the in-process hub."""
    setup = prepare(cfg.replace(runs_dir=str(workdir / "runs")))
    hub = InProcessHub(cfg.n)
    master_node = MasterNode(setup)  # nodes one by one: model init uses torch's global RNG
    nodes = [WorkerNode(setup, slot) for slot in range(cfg.n)]
    errors: list[BaseException] = []

    def work(slot: int) -> None:
        try:
            run_worker(setup, slot, hub.worker(slot), node=nodes[slot], round_timeout_s=TIMEOUT_S)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            hub.close()

    threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in range(cfg.n)]
    for t in threads:
        t.start()
    summary = run_master(setup, hub.master(), node=master_node, round_timeout_s=TIMEOUT_S)
    for t in threads:
        t.join(TIMEOUT_S)
    assert not errors, errors
    return summary


def run_grpc(cfg: TrainConfig, workdir: Path) -> dict[str, Any]:
    """A real local cluster: master, workers and adversaries as OS processes on loopback."""
    from master.cluster import LocalCluster

    cluster = LocalCluster(
        cfg.replace(runs_dir=str(workdir / "runs")), workdir / "cluster", master_args=["--quiet"]
    )
    try:
        cluster.start_all()
        return cluster.wait(TIMEOUT_S)
    finally:
        cluster.stop()


RUNNERS: dict[str, Runner] = {
    "inprocess-hub": run_inprocess_hub,
    "grpc": run_grpc,
}
