"""Transport runners for the contract suite: ``run(cfg, workdir) -> master summary``.

Add a transport by adding one entry to ``RUNNERS`` (the MPI runner launches
``mpirun -n n+1 election mpi ...`` and returns rank 0's JSON summary).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from election.config import TrainConfig
from election.training.distributed import run_master, run_worker
from election.training.nodes import MasterNode, WorkerNode
from election.training.setup import prepare
from election.transport.base import WorkerTransport
from election.transport.inprocess import InProcessHub

Runner = Callable[[TrainConfig, Path], dict[str, Any]]
TIMEOUT_S = 240.0
# The gRPC master's round deadline: a crashed (silent) slot abstains only when it passes, so the
# master's 60 s default would cost a minute per step; rounds here take milliseconds.
GRPC_ROUND_DEADLINE_S = 15.0


Wrap = Callable[[int, WorkerTransport, MasterNode], WorkerTransport]  # (slot, hub end, master)


@dataclass
class HubRun:
    """What an in-process hub run left: the master's summary, each slot's counters, the hub."""

    summary: dict[str, Any]
    workers: list[dict[str, Any]]
    hub: InProcessHub


def hub_cluster(
    cfg: TrainConfig,
    *,
    wrap: Wrap | None = None,
    round_deadline_s: float = TIMEOUT_S,
) -> HubRun:
    """run_master + one run_worker thread per slot over the in-process hub; ``wrap`` may put
    a fault-injecting transport around a slot's end of the hub."""
    setup = prepare(cfg)
    master_node = MasterNode(setup)  # nodes one by one: model init uses torch's global RNG
    nodes = [WorkerNode(setup, slot) for slot in range(cfg.n)]
    dim = master_node.replica.dim
    hub = InProcessHub(cfg.n, validate=lambda vote: setup.scheme.check_vote(vote, dim))
    workers: list[dict[str, Any]] = [{} for _ in range(cfg.n)]
    errors: list[BaseException] = []

    def work(slot: int) -> None:
        end: WorkerTransport = hub.worker(slot)
        if wrap is not None:
            end = wrap(slot, end, master_node)
        try:
            workers[slot] = run_worker(setup, slot, end, node=nodes[slot], update_wait_s=TIMEOUT_S)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            hub.close()

    threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in range(cfg.n)]
    for t in threads:
        t.start()
    summary = run_master(setup, hub.master(), node=master_node, round_deadline_s=round_deadline_s)
    for t in threads:
        t.join(TIMEOUT_S)
    assert not errors, errors
    return HubRun(summary, workers, hub)


def run_inprocess_hub(cfg: TrainConfig, workdir: Path) -> dict[str, Any]:
    """The in-process hub (threads) as a contract transport."""
    return hub_cluster(cfg.replace(runs_dir=str(workdir / "runs"))).summary


def run_grpc(cfg: TrainConfig, workdir: Path, shards: int = 1) -> dict[str, Any]:
    """A real local cluster: master (or ``shards`` master shards), workers and adversaries as
    OS processes on loopback; shard 0's summary, with every shard's under "shard_summaries"."""
    from master.cluster import LocalCluster

    cluster = LocalCluster(
        cfg.replace(runs_dir=str(workdir / "runs")),
        workdir / "cluster",
        master_args=["--quiet", "--round-deadline", str(GRPC_ROUND_DEADLINE_S)],
        shards=shards,
    )
    try:
        cluster.start_all()
        summary = cluster.wait(TIMEOUT_S)
        summary["shard_summaries"] = [cluster.master_summary(s) for s in range(shards)]
        return summary
    finally:
        cluster.stop()


def run_grpc_shards(k: int) -> Runner:
    """k master shards (docs/grpc.md "Sharded masters") as a contract transport."""

    def run(cfg: TrainConfig, workdir: Path) -> dict[str, Any]:
        return run_grpc(cfg, workdir, shards=k)

    return run


def run_mpi(cfg: TrainConfig, workdir: Path) -> dict[str, Any]:
    """Real `mpirun -n n+1 election mpi --config FILE` on this machine; rank 0's summary."""
    mpirun = shutil.which("mpirun", path=str(Path(sys.executable).parent)) or shutil.which("mpirun")
    if mpirun is None:
        pytest.skip("mpirun not installed (pip install mpich)")
    config_file = workdir / "config.json"
    config_file.write_text(json.dumps(cfg.replace(runs_dir=str(workdir / "runs")).to_json_dict()))
    cmd = [
        mpirun,
        "-n",
        str(cfg.n + 1),
        sys.executable,
        "-m",
        "election",
        "mpi",
        "--config",
        str(config_file),
        "--json",
        "--quiet",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return summary


RUNNERS: dict[str, Runner] = {
    "inprocess-hub": run_inprocess_hub,
    "grpc": run_grpc,
    "grpc-shards2": run_grpc_shards(2),
    "grpc-shards3": run_grpc_shards(3),
    "mpi": run_mpi,
}
SHARDED = {"grpc-shards2": 2, "grpc-shards3": 3}  # transport -> master shards
# Transports whose runs belong to the heavier CI tier (`pytest -m e2e`).
E2E_TRANSPORTS = {"mpi", "grpc-shards3"}
# Master shards run the cases of their set: k = 2 in the default tier (the packed majority with
# the quorum decoder; a file code with an idle worker and master-side partition momentum), k = 3
# in the e2e tier (uncoded, sign-of-sum, quorum q = 4 and the CIFAR CNN), so that every case
# runs sharded once.
SHARDED_CASES = {
    "grpc-shards2": {"deterministic-omniscient", "seed-protocol-gappy-file"},
    "grpc-shards3": {
        "uncoded-random",
        "sign-of-sum-omniscient",
        "deterministic-directional-quorum",
        "cifar-augment",
        "bernoulli-reverse",
        "worker-noise-reverse",
    },
}
