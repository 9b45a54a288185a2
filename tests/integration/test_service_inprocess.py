"""The gRPC master's logic and the gRPC worker's loop in one process, without a network.

``DirectClient`` stands in for :class:`worker.client.MasterClient`: it calls the
:class:`master.service.MasterService` methods the servicer calls, and turns a refused message
into the client's :class:`~worker.client.Rejected` with the status code the servicer would
send. So ``run_rounds`` (the one master loop over ``GrpcMaster``), ``MasterService``,
``RoundState`` and ``WorkerLoop`` (the one worker loop over the gRPC worker transport, with its
join, resync and recovery) run exactly as in the services, in threads.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc

from election.config import build_config
from election.training.loop import train_inprocess
from election.training.recorder import RunRecorder
from election.training.setup import prepare
from master.config import MasterConfig
from master.loop import run_rounds
from master.metrics import Metrics
from master.service import MasterService
from wire.errors import ProtocolError, details
from wire.jsonlog import JsonLog
from wire.messages import (
    Assignment,
    Credentials,
    JoinClaim,
    RoundUpdate,
    RunStatus,
    Snapshot,
    UpdateQuery,
    Vote,
    payload_nbytes,
)
from worker.client import Rejected, Unreachable
from worker.config import WorkerConfig
from worker.loop import WorkerLoop

T = TypeVar("T")
SMALL = {"dataset": "digits", "num_train": 200, "steps": 6, "threads": 1, "eval_every": 3}
WAIT_S = 120.0  # bounds every wait of the test; a healthy run needs a few seconds


class DirectClient:
    """MasterClient's methods over a MasterService in this process."""

    def __init__(self, service: MasterService) -> None:
        self.service = service

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ProtocolError as exc:
            raise Rejected(grpc.StatusCode[exc.code], details(exc)) from None

    def wait_ready(
        self, timeout_s: float, on_retry: Callable[[str], None] | None = None
    ) -> RunStatus:
        return self.service.status()

    def join(self, claim: JoinClaim) -> Assignment:
        return self._call(lambda: self.service.join(claim))

    def submit(self, vote: Vote) -> int:
        return self._call(lambda: self.service.submit(vote))

    def get_update(self, query: UpdateQuery, *, timeout_s: float, max_nbytes: int) -> RoundUpdate:
        self._call(lambda: self.service.check_update_query(query))
        update = self._call(lambda: self.service.rounds.wait_update(query.round, timeout_s))
        if update is None:
            raise Unreachable("long poll timed out", deadline=True)
        self.service.delivered(query.credentials.slot, update, payload_nbytes(update.payload))
        return update

    def snapshot(self, cred: Credentials) -> Snapshot:
        return self._call(lambda: self.service.snapshot(cred))


def service_for(tmp_path: Path, **options: Any) -> MasterService:
    cfg = build_config(SMALL | {"runs_dir": str(tmp_path / "runs"), "transport": "grpc"})
    return MasterService(
        prepare(cfg),
        run_id="inproc",
        secret=b"s" * 32,
        options=MasterConfig(**({"linger_s": 5.0, "startup_timeout_s": WAIT_S} | options)),
        metrics=Metrics(),
        log=JsonLog("master", stream=io.StringIO()),
        join_secret=None,
    )


def start_worker(service: MasterService, slot: int, out: dict[int, Any]) -> threading.Thread:
    """Run one WorkerLoop in a thread; returns once its replica is built (model init draws from
    torch's global RNG, so replicas are built one after another, as in separate processes)."""
    loop = WorkerLoop(
        DirectClient(service),  # type: ignore[arg-type]
        WorkerConfig(slot=slot, name=f"w{slot}", poll_timeout_s=1.0),
        log=JsonLog("worker", stream=io.StringIO()),
    )

    def work() -> None:
        out[slot] = loop.run()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while loop.node is None and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread


def run_master_thread(service: MasterService, out: dict[str, Any]) -> threading.Thread:
    def master() -> None:
        out["summary"] = run_rounds(service, RunRecorder(service.setup), history=[])

    thread = threading.Thread(target=master, daemon=True)
    thread.start()
    return thread


def test_grpc_master_and_workers_in_process_train_the_in_process_model(tmp_path: Path) -> None:
    service = service_for(tmp_path)
    out: dict[str, Any] = {}
    workers: dict[int, Any] = {}
    threads = [start_worker(service, s, workers) for s in range(service.setup.cfg.n)]
    run_master_thread(service, out).join(WAIT_S)
    for t in threads:
        t.join(WAIT_S)
    reference = train_inprocess(
        prepare(service.setup.cfg.replace(transport="inprocess")), progress=False
    )
    summary = out["summary"]
    assert summary["model_sha256"] == reference["model_sha256"]
    assert summary["wire_bytes_per_round"] == reference["wire_bytes_per_round"]
    assert summary["abstentions"] == 0 and summary["rejected"] == {}
    assert {w["digest"] for w in workers.values()} == {summary["model_sha256"]}
    assert all(w["counters"]["updates"] == 6 for w in workers.values())
    assert not any(w["counters"].get("digest_mismatches") for w in workers.values())


def test_a_late_worker_joins_mid_run_resyncs_from_a_snapshot_and_ends_in_step(
    tmp_path: Path,
) -> None:
    service = service_for(tmp_path, startup_timeout_s=0.0, round_deadline_s=0.5)
    n = service.setup.cfg.n
    out: dict[str, Any] = {}
    workers: dict[int, Any] = {}
    threads = [start_worker(service, s, workers) for s in range(n - 1)]
    master = run_master_thread(service, out)
    deadline = time.monotonic() + WAIT_S
    while service.rounds.open_round < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    threads.append(start_worker(service, n - 1, workers))  # joins at round >= 2
    master.join(WAIT_S)
    for t in threads:
        t.join(WAIT_S)
    summary = out["summary"]
    late = workers[n - 1]
    assert late["counters"]["resyncs"] == 1  # it started from the master's snapshot
    assert 2 <= summary["abstentions"] <= 2 * (service.setup.total_steps - 1)
    assert {w["digest"] for w in workers.values()} == {summary["model_sha256"]}


def test_a_worker_whose_replica_diverged_resyncs_and_the_run_goes_on(tmp_path: Path) -> None:
    service = service_for(tmp_path)
    out: dict[str, Any] = {}
    workers: dict[int, Any] = {}
    loops: list[WorkerLoop] = []
    original = WorkerLoop.receive

    def corrupting(self: WorkerLoop, round_id: int, timeout_s: float) -> Any:
        update, digest = original(self, round_id, timeout_s)
        if self.slot == 0 and round_id == 2 and not self.counters["digest_mismatches"]:
            return update, "f" * 64  # as if the replica had diverged
        return update, digest

    WorkerLoop.receive = corrupting  # type: ignore[method-assign]
    try:
        threads = [start_worker(service, s, workers) for s in range(service.setup.cfg.n)]
        run_master_thread(service, out).join(WAIT_S)
        for t in threads:
            t.join(WAIT_S)
    finally:
        WorkerLoop.receive = original  # type: ignore[method-assign]
    del loops
    summary = out["summary"]
    assert workers[0]["counters"]["digest_mismatches"] == 1
    assert workers[0]["counters"]["resyncs"] == 1
    assert {w["digest"] for w in workers.values()} == {summary["model_sha256"]}
