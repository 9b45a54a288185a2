"""Transports move one round's ballots and update between the master and the worker slots.

One interface (:mod:`election.transport.base`), implementations: in-process (the reference,
threads and queues), gRPC (``master``/``worker`` services) and MPI (:mod:`election.transport.mpi`,
imported lazily so the core never needs mpi4py). Transports do not know what a sign is.
"""

from election.transport.base import (
    Ballot,
    MasterTransport,
    TransportClosed,
    TransportError,
    TransportTimeout,
    WorkerTransport,
)

__all__ = [
    "Ballot",
    "MasterTransport",
    "TransportClosed",
    "TransportError",
    "TransportTimeout",
    "WorkerTransport",
]
