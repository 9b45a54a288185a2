"""Transports move one round's ballots and update between the master and the worker slots.

One interface (:mod:`election.transport.base`), implementations: in-process (the reference,
threads and queues), gRPC (``master``/``worker`` services) and MPI (:mod:`wire.mpi`, outside
the core: the core never imports mpi4py). Transports do not know what a sign is.
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
