"""The in-process hub transport: ballots and updates handed between threads of one process.

Ballots go into one dict per round; updates are published in a dict guarded by a condition
variable. No bytes: objects are handed over as they are, each vote validated once on receipt
by ``validate`` (the scheme's :meth:`~election.training.schemes.Scheme.check_vote`, which holds
it to what its bytes would be); a vote that does not fit is an abstention. It implements exactly
the semantics of :mod:`election.transport.base` and is the reference the gRPC and MPI transports
are tested against.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from election.errors import VoteFormatError
from election.transport.base import (
    Ballot,
    MasterTransport,
    TransportClosed,
    TransportTimeout,
    WorkerTransport,
)

if TYPE_CHECKING:
    from election.training.schemes import Update, Vote

KEEP_UPDATES = 2  # published updates kept for late receivers (memory stays bounded)


class InProcessHub:
    """Shared state of one in-process cluster; hands out the master and worker endpoints."""

    def __init__(self, n_workers: int, validate: Callable[[Vote], Vote] | None = None) -> None:
        self.n_workers = n_workers
        self.validate = validate
        self.cond = threading.Condition()
        self.ballots: dict[int, dict[int, Ballot | None]] = {}  # round -> slot -> ballot
        self.updates: dict[int, tuple[Update, str]] = {}  # round -> (update, digest)
        self.gathered = -1  # the newest round the master collected: older ballots are stale
        self.closed = False

    def master(self) -> InProcessMaster:
        return InProcessMaster(self)

    def worker(self, slot: int) -> InProcessWorker:
        if not 0 <= slot < self.n_workers:
            raise ValueError(f"slot={slot} must be in [0, {self.n_workers})")
        return InProcessWorker(self, slot)

    def receipt(self, ballot: Ballot) -> Ballot | None:
        """A ballot as the master keeps it: its vote validated (a misfit is an abstention)."""
        if ballot.vote is None:
            return None
        if self.validate is None:
            return ballot
        try:
            return replace(ballot, vote=self.validate(ballot.vote))
        except VoteFormatError:
            return None

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class InProcessMaster(MasterTransport):
    def __init__(self, hub: InProcessHub) -> None:
        self.hub = hub
        self.n_workers = hub.n_workers

    def gather(self, round_id: int, timeout_s: float) -> list[Ballot | None]:
        deadline = time.monotonic() + timeout_s
        with self.hub.cond:
            while True:
                if self.hub.closed:
                    raise TransportClosed("in-process hub closed")
                got = self.hub.ballots.get(round_id, {})
                remaining = deadline - time.monotonic()
                if len(got) == self.n_workers or remaining <= 0:
                    got = self.hub.ballots.pop(round_id, {})
                    self.hub.gathered = max(self.hub.gathered, round_id)
                    return [got.get(slot) for slot in range(self.n_workers)]
                self.hub.cond.wait(remaining)

    def broadcast(self, round_id: int, update: Update, digest: str) -> None:
        with self.hub.cond:
            self.hub.updates[round_id] = (update, digest)
            self.hub.updates.pop(round_id - KEEP_UPDATES, None)
            self.hub.cond.notify_all()

    def close(self) -> None:
        self.hub.close()


class InProcessWorker(WorkerTransport):
    def __init__(self, hub: InProcessHub, slot: int) -> None:
        self.hub = hub
        self.slot = slot

    def send(self, round_id: int, ballot: Ballot) -> None:
        kept = self.hub.receipt(ballot)  # validated outside the lock
        with self.hub.cond:
            if self.hub.closed:
                raise TransportClosed("in-process hub closed")
            if round_id <= self.hub.gathered:
                return  # a ballot for a closed round is stale: dropped, never kept
            self.hub.ballots.setdefault(round_id, {})[self.slot] = kept
            self.hub.cond.notify_all()

    def receive(self, round_id: int, timeout_s: float) -> tuple[Update, str]:
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
