"""The transport interface, the one type that crosses a round, and the transports' errors.

A round ``r`` (the global step) moves one :class:`Ballot` from each worker slot to the master
(``WorkerTransport.send`` -> ``MasterTransport.gather``) and one update plus the digest of the
master's model after the update back to every slot (``MasterTransport.broadcast`` ->
``WorkerTransport.receive``). Ballots and updates are objects: a vote is a
:class:`election.votes.PackedVote` (packed schemes) or a (d,) tensor (raw schemes), an update
likewise (:mod:`election.training.schemes`). Bytes exist only inside a transport, which
validates each vote once, on receipt: a vote that does not fit the model is an abstention.
The master and worker loops over these interfaces are :mod:`election.training.distributed`.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from election.training.nodes import WorkerNode
    from election.training.schemes import Update, Vote

ROUND_DEADLINE_S = 60.0  # master: a vote missing this long after the round opened abstains
UPDATE_WAIT_S = 60.0  # worker: one wait for the round's update (a gRPC long poll), then again


class TransportError(Exception):
    """Base class of transport failures."""


class TransportTimeout(TransportError):
    """Nothing arrived before the deadline."""


class TransportClosed(TransportError):
    """The other side shut down (or this endpoint was closed)."""


@dataclass(frozen=True)
class Ballot:
    """What a worker slot hands its transport for one round."""

    vote: Vote | None  # None: the slot sends no vote (an abstention at the master)
    # (partition, mean train loss over its samples) for the slot's partitions, as computed
    # on the replica before the round's update; the master's train loss is built from these
    losses: tuple[tuple[int, float], ...] = ()


class MasterTransport(ABC):
    """The master's endpoint.

    ``gather`` raises TransportClosed if the transport is shut down; a slot whose ballot did
    not arrive before ``timeout_s`` (or whose vote did not fit the model) is reported as None
    (an abstention) rather than raising.
    """

    n_workers: int
    # errors after which the run can resume (no failed summary is written for them)
    resumable: ClassVar[tuple[type[BaseException], ...]] = (KeyboardInterrupt, SystemExit)

    @abstractmethod
    def gather(self, round_id: int, timeout_s: float) -> list[Ballot | None]:
        """One ballot per slot 0..n-1 for round ``round_id``; None where nothing arrived."""

    @abstractmethod
    def broadcast(self, round_id: int, update: Update, digest: str) -> None:
        """Deliver the round's update and the digest of the model after it to every slot."""

    @contextlib.contextmanager
    def model_lock(self) -> Iterator[None]:
        """Held by the loop while it changes or reads the master's replica (default: none)."""
        yield

    def coordinates(self, dim: int) -> tuple[int, int]:
        """The coordinates [lo, hi) whose votes this master receives and aggregates (a master
        shard's range, docs/grpc.md "Sharded masters"; default: all d of them)."""
        return (0, dim)

    def complete(self, round_id: int, part: Update) -> Update:
        """The whole update of round ``round_id`` from this master's aggregate of its
        coordinates (a shard joins its peers' parts; default: the part is the whole)."""
        return part

    def applied(self, round_id: int) -> None:  # noqa: B027 - optional hook
        """Called under :meth:`model_lock` right after round ``round_id``'s update is applied."""

    def finished(self) -> None:  # noqa: B027 - optional hook
        """Called once after the last round was broadcast (e.g. wait for the last fetches)."""

    def summary(self) -> dict[str, Any]:
        """Transport-specific entries of the run summary."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; idempotent."""


class WorkerTransport(ABC):
    """A worker slot's endpoint.

    ``receive`` raises TransportTimeout when no update arrives in time and TransportClosed when
    the master is gone. A transport that can recover from a failed round (reconnect, resync
    the replica) lists the errors in ``recoverable`` and implements :meth:`recover`.
    """

    slot: int
    recoverable: ClassVar[tuple[type[BaseException], ...]] = ()

    def start(self, node: WorkerNode) -> int:
        """The first round this slot takes part in (a transport may resync ``node`` first)."""
        return 0

    @abstractmethod
    def send(self, round_id: int, ballot: Ballot) -> None:
        """Submit this slot's ballot for ``round_id``."""

    @abstractmethod
    def receive(self, round_id: int, timeout_s: float) -> tuple[Update, str]:
        """The update of ``round_id`` and the master's model digest after it."""

    def recover(self, error: BaseException, round_id: int, node: WorkerNode) -> int:
        """Handle a recoverable failure of round ``round_id``; the round to continue with
        (-1: the run is over)."""
        raise error

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; idempotent."""
