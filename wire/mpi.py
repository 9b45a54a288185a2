"""The MPI transport (mpi4py): rank 0 is the master, ranks 1..n are worker slots 0..n-1.

Launch: ``mpirun -n N+1 [-f hosts] election mpi <training flags>``.

Every message is a raw byte buffer (``MPI.BYTE``), tagged with the round, never pickled:
ballots go worker -> rank 0 as ``u32 k || k x (u32 partition, f64 train loss) || vote bytes``
(little-endian; a zero-length message means "no vote"), and the update goes rank 0 -> every
worker as one buffer ``digest (64 ASCII hex bytes) || update bytes``. The bytes of votes and
updates are the scheme's codec (:mod:`election.training.schemes`), handed in as ``codec``; the
master decodes and validates each vote once, on receipt (a misfit is an abstention).
Receives poll ``Iprobe`` against a deadline, so a silent rank makes the master raise
:class:`SilentRank` naming it (``election mpi`` then aborts the whole job) instead of hanging.
Only this module and ``election_cli.commands.mpi`` import mpi4py (the core never does).
"""

from __future__ import annotations

import struct
import time
from typing import TYPE_CHECKING, Any

from election.errors import VoteFormatError
from election.transport.base import (
    Ballot,
    MasterTransport,
    TransportError,
    TransportTimeout,
    WorkerTransport,
)

if TYPE_CHECKING:
    from election.training.schemes import Scheme, Update

MASTER_RANK = 0
DIGEST_LEN = 64  # hex SHA-256
POLL_S = 0.0005  # sleep between Iprobe polls
BROADCAST_TIMEOUT_S = 600.0  # a worker rank must take the update within this long
RANK_TIMEOUT_S = 120.0  # a rank silent this long in a round makes rank 0 abort the job (SilentRank)
# A worker waits this many rank timeouts for rank 0's update: rank 0 (whose deadline is one rank
# timeout from the start of its gather, which may begin after its accusation work) must be the
# one that names a silent worker, before the other workers give up on rank 0 itself.
WORKER_PATIENCE = 2.0
COUNT = struct.Struct("<I")  # number of (partition, loss) pairs
LOSS = struct.Struct("<Id")  # one (partition, train loss) pair


def encode_ballot(codec: Scheme, ballot: Ballot) -> bytes:
    """A ballot's bytes (module docstring); b"" for a ballot without a vote."""
    if ballot.vote is None:
        return b""
    losses = b"".join(LOSS.pack(i, loss) for i, loss in ballot.losses)
    return COUNT.pack(len(ballot.losses)) + losses + codec.encode_vote(ballot.vote)


def decode_ballot(codec: Scheme, data: bytes, dim: int) -> Ballot | None:
    """Bytes -> the ballot, or None for no vote or one that does not fit (an abstention)."""
    if len(data) < COUNT.size:
        return None
    (k,) = COUNT.unpack_from(data)
    start = COUNT.size + k * LOSS.size
    if len(data) <= start:
        return None
    losses = tuple(LOSS.unpack_from(data, COUNT.size + j * LOSS.size) for j in range(k))
    try:
        return Ballot(codec.decode_vote(data[start:], dim), losses)
    except VoteFormatError:
        return None


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

    def __init__(self, comm: Any, codec: Scheme, dim: int) -> None:
        self.comm = comm
        self.codec = codec
        self.dim = dim
        self.n_workers = comm.Get_size() - 1
        self.bytes_received: dict[int, int] = {slot: 0 for slot in range(self.n_workers)}
        self.rounds = 0

    def gather(self, round_id: int, timeout_s: float) -> list[Ballot | None]:
        deadline = time.monotonic() + timeout_s
        out: list[Ballot | None] = []
        for slot in range(self.n_workers):
            data = _recv_bytes(self.comm, slot + 1, _vote_tag(round_id), deadline)
            if data is None:
                raise SilentRank(slot + 1, round_id, timeout_s)
            self.bytes_received[slot] += len(data)
            out.append(decode_ballot(self.codec, data, self.dim))
        self.rounds += 1
        return out

    def broadcast(self, round_id: int, update: Update, digest: str) -> None:
        if len(digest) != DIGEST_LEN:
            raise TransportError(f"digest must be {DIGEST_LEN} hex characters")
        frame = digest.encode("ascii") + self.codec.encode_update(update)
        deadline = time.monotonic() + BROADCAST_TIMEOUT_S
        for slot in range(self.n_workers):
            _send_bytes(self.comm, frame, slot + 1, _update_tag(round_id), deadline)

    def summary(self) -> dict[str, Any]:
        """Each rank's frame bytes per round, as MPI carried them (ballot header included)."""
        rounds = max(1, self.rounds)
        per_slot = [self.bytes_received[s] / rounds for s in range(self.n_workers)]
        return {"bytes_sent_per_worker_per_round": per_slot}


class MPIWorker(WorkerTransport):
    def __init__(
        self, comm: Any, codec: Scheme, dim: int, *, send_timeout_s: float = BROADCAST_TIMEOUT_S
    ) -> None:
        self.comm = comm
        self.codec = codec
        self.dim = dim
        self.slot = comm.Get_rank() - 1
        self.send_timeout_s = send_timeout_s
        self.bytes_sent = 0

    def send(self, round_id: int, ballot: Ballot) -> None:
        data = encode_ballot(self.codec, ballot)
        self.bytes_sent += len(data)
        deadline = time.monotonic() + self.send_timeout_s
        _send_bytes(self.comm, data, MASTER_RANK, _vote_tag(round_id), deadline)

    def receive(self, round_id: int, timeout_s: float) -> tuple[Update, str]:
        deadline = time.monotonic() + timeout_s
        frame = _recv_bytes(self.comm, MASTER_RANK, _update_tag(round_id), deadline)
        if frame is None:
            raise TransportTimeout(f"no update from rank 0 for round {round_id} in {timeout_s}s")
        update = self.codec.decode_update(frame[DIGEST_LEN:], self.dim)
        return update, frame[:DIGEST_LEN].decode("ascii")
