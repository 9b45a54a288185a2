"""The MPI transport (mpi4py): rank 0 is the master, ranks 1..n are worker slots 0..n-1.

Launch: ``mpirun -n N+1 [-f hosts] election mpi <training flags>``.

Every message is a raw byte buffer (``MPI.BYTE``), tagged with the round, never pickled:
votes go worker -> rank 0 (a zero-length message means "nothing sent"), and the update goes
rank 0 -> every worker as one buffer ``digest (64 ASCII hex bytes) || update bytes``.
Receives poll ``Iprobe`` against a deadline, so a silent rank makes the master raise
:class:`SilentRank` naming it (``election mpi`` then aborts the whole job) instead of hanging.
Only this module and ``election_cli.commands.mpi`` import mpi4py (the core never does).
"""

from __future__ import annotations

import time
from typing import Any

from election.transport.base import (
    MasterTransport,
    TransportError,
    TransportTimeout,
    WorkerTransport,
)

MASTER_RANK = 0
DIGEST_LEN = 64  # hex SHA-256
POLL_S = 0.0005  # sleep between Iprobe polls
VOTE_TAG_BASE = 0  # vote of round r uses tag 2r, update 2r + 1 (MPI tags must be >= 0)


class SilentRank(TransportTimeout):
    """A rank sent nothing before the round's deadline."""

    def __init__(self, rank: int, round_id: int, timeout_s: float) -> None:
        super().__init__(
            f"rank {rank} (worker slot {rank - 1}) sent nothing for round {round_id} "
            f"within {timeout_s:g}s; aborting the job"
        )
        self.rank = rank


def _vote_tag(round_id: int) -> int:
    return (2 * round_id) % (1 << 20)  # stays below every implementation's MPI_TAG_UB


def _update_tag(round_id: int) -> int:
    return (2 * round_id + 1) % (1 << 20)


def _recv_bytes(comm: Any, source: int, tag: int, deadline: float) -> bytes | None:
    """Receive one byte message from ``source`` with ``tag``; None if the deadline passes."""
    from mpi4py import MPI

    status = MPI.Status()
    while not comm.Iprobe(source=source, tag=tag, status=status):
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL_S)
    buf = bytearray(status.Get_count(MPI.BYTE))
    comm.Recv([buf, MPI.BYTE], source=source, tag=tag)
    return bytes(buf)


def _send_bytes(comm: Any, data: bytes, dest: int, tag: int, deadline: float) -> None:
    from mpi4py import MPI

    request = comm.Isend([data, len(data), MPI.BYTE], dest=dest, tag=tag)
    while not request.Test():
        if time.monotonic() > deadline:
            request.Cancel()
            raise TransportTimeout(f"rank {dest} did not take a message within the deadline")
        time.sleep(POLL_S)


class MPIMaster(MasterTransport):
    """Rank 0. ``gather`` raises :class:`SilentRank` (not None) for a silent rank: under MPI a
    dead rank cannot rejoin, so the job stops rather than training on without it."""

    def __init__(self, comm: Any) -> None:
        self.comm = comm
        self.n_workers = comm.Get_size() - 1
        self.bytes_received: dict[int, int] = {slot: 0 for slot in range(self.n_workers)}

    def gather(self, round_id: int, timeout_s: float) -> list[bytes | None]:
        deadline = time.monotonic() + timeout_s
        out: list[bytes | None] = []
        for slot in range(self.n_workers):
            data = _recv_bytes(self.comm, slot + 1, _vote_tag(round_id), deadline)
            if data is None:
                raise SilentRank(slot + 1, round_id, timeout_s)
            self.bytes_received[slot] += len(data)
            out.append(data or None)
        return out

    def broadcast(self, round_id: int, update: bytes, digest: str) -> None:
        frame = digest.encode("ascii") + update
        if len(digest) != DIGEST_LEN:
            raise TransportError(f"digest must be {DIGEST_LEN} hex characters")
        deadline = time.monotonic() + 600.0
        for slot in range(self.n_workers):
            _send_bytes(self.comm, frame, slot + 1, _update_tag(round_id), deadline)


class MPIWorker(WorkerTransport):
    def __init__(self, comm: Any, *, send_timeout_s: float = 600.0) -> None:
        self.comm = comm
        self.slot = comm.Get_rank() - 1
        self.send_timeout_s = send_timeout_s
        self.bytes_sent = 0

    def send(self, round_id: int, payload: bytes | None) -> None:
        data = payload or b""
        self.bytes_sent += len(data)
        deadline = time.monotonic() + self.send_timeout_s
        _send_bytes(self.comm, data, MASTER_RANK, _vote_tag(round_id), deadline)

    def receive(self, round_id: int, timeout_s: float) -> tuple[bytes, str]:
        deadline = time.monotonic() + timeout_s
        frame = _recv_bytes(self.comm, MASTER_RANK, _update_tag(round_id), deadline)
        if frame is None:
            raise TransportTimeout(f"no update from rank 0 for round {round_id} in {timeout_s}s")
        return frame[DIGEST_LEN:], frame[:DIGEST_LEN].decode("ascii")
