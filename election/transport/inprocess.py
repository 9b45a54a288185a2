"""The in-process reference transport: queues between threads of one process.

Votes go into one queue per round; updates are published in a dict guarded by a condition
variable. It implements exactly the semantics of :mod:`election.transport.base` and is the
reference the gRPC and MPI transports are tested against.
"""

from __future__ import annotations

import threading
import time

from election.transport.base import (
    MasterTransport,
    TransportClosed,
    TransportTimeout,
    WorkerTransport,
)


class InProcessHub:
    """Shared state of one in-process cluster; hands out the master and worker endpoints."""

    def __init__(self, n_workers: int) -> None:
        self.n_workers = n_workers
        self.cond = threading.Condition()
        self.votes: dict[int, dict[int, bytes | None]] = {}  # round -> slot -> payload
        self.updates: dict[int, tuple[bytes, str]] = {}  # round -> (update, digest)
        self.closed = False

    def master(self) -> InProcessMaster:
        return InProcessMaster(self)

    def worker(self, slot: int) -> InProcessWorker:
        if not 0 <= slot < self.n_workers:
            raise ValueError(f"slot={slot} must be in [0, {self.n_workers})")
        return InProcessWorker(self, slot)

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class InProcessMaster(MasterTransport):
    def __init__(self, hub: InProcessHub) -> None:
        self.hub = hub
        self.n_workers = hub.n_workers

    def gather(self, round_id: int, timeout_s: float) -> list[bytes | None]:
        deadline = time.monotonic() + timeout_s
        with self.hub.cond:
            while True:
                if self.hub.closed:
                    raise TransportClosed("in-process hub closed")
                got = self.hub.votes.get(round_id, {})
                remaining = deadline - time.monotonic()
                if len(got) == self.n_workers or remaining <= 0:
                    got = self.hub.votes.pop(round_id, {})
                    return [got.get(slot) for slot in range(self.n_workers)]
                self.hub.cond.wait(remaining)

    def broadcast(self, round_id: int, update: bytes, digest: str) -> None:
        with self.hub.cond:
            self.hub.updates[round_id] = (update, digest)
            self.hub.updates.pop(round_id - 2, None)  # keep memory bounded
            self.hub.cond.notify_all()

    def close(self) -> None:
        self.hub.close()


class InProcessWorker(WorkerTransport):
    def __init__(self, hub: InProcessHub, slot: int) -> None:
        self.hub = hub
        self.slot = slot

    def send(self, round_id: int, payload: bytes | None) -> None:
        with self.hub.cond:
            if self.hub.closed:
                raise TransportClosed("in-process hub closed")
            self.hub.votes.setdefault(round_id, {})[self.slot] = payload
            self.hub.cond.notify_all()

    def receive(self, round_id: int, timeout_s: float) -> tuple[bytes, str]:
        deadline = time.monotonic() + timeout_s
        with self.hub.cond:
            while round_id not in self.hub.updates:
                if self.hub.closed:
                    raise TransportClosed("in-process hub closed")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TransportTimeout(f"no update for round {round_id} in {timeout_s}s")
                self.hub.cond.wait(remaining)
            return self.hub.updates[round_id]
