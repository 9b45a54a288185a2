"""The transport interface and its error family.

A round ``r`` (the global step) moves one payload from each worker slot to the master
(``WorkerTransport.send`` -> ``MasterTransport.gather``) and one update plus the digest of the
master's model after the update back to every slot (``MasterTransport.broadcast`` ->
``WorkerTransport.receive``). Payloads are opaque bytes; ``None`` means "nothing sent" and is
an abstention at the master.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class TransportError(Exception):
    """Base class of transport failures."""


class TransportTimeout(TransportError):
    """Nothing arrived before the deadline."""


class TransportClosed(TransportError):
    """The other side shut down (or this endpoint was closed)."""


class MasterTransport(ABC):
    """The master's endpoint.

    ``gather`` raises TransportClosed if the transport is shut down; a slot that sent nothing
    before ``timeout_s`` is reported as None (abstention) rather than raising.
    """

    n_workers: int

    @abstractmethod
    def gather(self, round_id: int, timeout_s: float) -> list[bytes | None]:
        """One payload per slot 0..n-1 for round ``round_id``; None where nothing arrived."""

    @abstractmethod
    def broadcast(self, round_id: int, update: bytes, digest: str) -> None:
        """Deliver the round's update and the digest of the model after it to every slot."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; idempotent."""


class WorkerTransport(ABC):
    """A worker slot's endpoint.

    ``receive`` raises TransportTimeout when no update arrives in time and TransportClosed when
    the master is gone.
    """

    slot: int

    @abstractmethod
    def send(self, round_id: int, payload: bytes | None) -> None:
        """Submit this slot's vote for ``round_id`` (None = send nothing)."""

    @abstractmethod
    def receive(self, round_id: int, timeout_s: float) -> tuple[bytes, str]:
        """The update of ``round_id`` and the master's model digest after it."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; idempotent."""
