"""Malformed traffic for fault tests: each fault builds vote streams the master must refuse.

    fault          what is sent                                        expected status
    garbage        random bytes as a packed payload                    INVALID_ARGUMENT
    wrong_length   a well-formed vote of d + 8 coordinates             INVALID_ARGUMENT
    stale          a vote for the previous round                       FAILED_PRECONDITION
    future         a vote for round r + 5                              FAILED_PRECONDITION
    wrong_run      a vote with another run id                          FAILED_PRECONDITION
    replay         the previous round's accepted vote, unchanged        FAILED_PRECONDITION
    duplicate      this round's vote again, after it was accepted      ALREADY_EXISTS (or
                                                                       FAILED_PRECONDITION when
                                                                       the round already closed)
    other_slot     a vote for another slot, with this slot's token     PERMISSION_DENIED
    no_token       a vote without a token                              UNAUTHENTICATED
    bad_token      a vote with a made-up token                         UNAUTHENTICATED
    oversized      a payload declared larger than any valid vote       RESOURCE_EXHAUSTED
    bad_slot       a vote for slot n (out of range)                    INVALID_ARGUMENT

Faults that reuse this slot's identity run before its real vote (so they would be duplicates
if they were accepted); ``duplicate`` runs after it. The real vote is never affected. ``stale``
and ``replay`` are skipped in round 0, which has no earlier round.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from election.votes import PackedVote, ZeroKind
from wire import serde
from wire.gen.election.v1 import election_pb2 as pb
from wire.messages import Credentials, Vote
from worker.client import Rejected, Unreachable
from worker.loop import WorkerLoop

EXPECTED_CODES: dict[str, tuple[str, ...]] = {
    "garbage": ("INVALID_ARGUMENT",),
    "wrong_length": ("INVALID_ARGUMENT",),
    "stale": ("FAILED_PRECONDITION",),
    "future": ("FAILED_PRECONDITION",),
    "wrong_run": ("FAILED_PRECONDITION",),
    "replay": ("FAILED_PRECONDITION",),
    "duplicate": ("ALREADY_EXISTS", "FAILED_PRECONDITION"),  # depends on the round closing
    "other_slot": ("PERMISSION_DENIED",),
    "no_token": ("UNAUTHENTICATED",),
    "bad_token": ("UNAUTHENTICATED",),
    "oversized": ("RESOURCE_EXHAUSTED",),
    "bad_slot": ("INVALID_ARGUMENT",),
}
AFTER_VOTE = ("duplicate",)
NEEDS_EARLIER_ROUND = ("stale", "replay")


def _dense(length: int, rng: np.random.Generator) -> PackedVote:
    nb = (length + 7) // 8
    bits = rng.integers(0, 256, size=nb, dtype=np.uint8)
    if length % 8:
        bits[-1] &= (1 << (length % 8)) - 1
    return PackedVote(length=length, sign_bits=bits, zero_kind=ZeroKind.NONE)


def build_fault(
    fault: str, loop: WorkerLoop, step: int, rng: np.random.Generator
) -> list[pb.VoteChunk]:
    """The chunks of one malformed vote stream for round ``step``."""
    assert loop.node is not None and loop.assignment is not None
    cred, d = loop.credentials, loop.node.replica.dim
    n_slots = loop.node.setup.cfg.n

    def vote(
        c: Credentials = cred, r: int = step, payload: PackedVote | None = None
    ) -> list[pb.VoteChunk]:
        return list(serde.vote_to_chunks(Vote(c, r, payload or _dense(d, rng))))

    if fault == "garbage":
        chunks = vote()
        chunks[0].data = rng.bytes(len(chunks[0].data) + 3)
        chunks[0].header.payload.total_nbytes = len(chunks[0].data)
        chunks[0].header.payload.zero_kind = pb.ZERO_MASK  # type: ignore[assignment]
        return chunks
    if fault == "wrong_length":
        return vote(payload=_dense(d + 8, rng))
    if fault == "stale":
        assert step > 0, "round 0 has no stale round"
        return vote(r=step - 1)
    if fault == "future":
        return vote(r=step + 5)
    if fault == "wrong_run":
        return vote(c=replace(cred, run_id=cred.run_id + "-old"))
    if fault == "replay":
        assert loop.last_vote is not None and loop.last_vote.round == step - 1
        return list(serde.vote_to_chunks(loop.last_vote))
    if fault == "duplicate":
        assert loop.last_vote is not None and loop.last_vote.round == step
        return list(serde.vote_to_chunks(loop.last_vote))
    if fault == "other_slot":
        return vote(c=replace(cred, slot=(cred.slot + 1) % n_slots))
    if fault == "no_token":
        return vote(c=replace(cred, token=""))
    if fault == "bad_token":
        return vote(c=replace(cred, token=rng.bytes(32).hex()))
    if fault == "oversized":
        chunks = vote()
        chunks[0].header.payload.total_nbytes = 64 * d + 1024
        return chunks
    if fault == "bad_slot":
        return vote(c=replace(cred, slot=n_slots))
    raise ValueError(f"unknown fault {fault!r}; known: {', '.join(EXPECTED_CODES)}")


def _voted_in(loop: WorkerLoop, step: int) -> bool:
    return loop.last_vote is not None and loop.last_vote.round == step


class FaultInjector:
    """WorkerLoop hooks: send ``repeat`` copies of each fault per round; count the answers."""

    def __init__(
        self,
        faults: tuple[str, ...],
        *,
        repeat: int = 1,
        seed: int = 0,
        on_unexpected: Callable[[str, str], None] | None = None,
    ) -> None:
        for fault in faults:
            if fault not in EXPECTED_CODES:
                raise ValueError(f"unknown fault {fault!r}; known: {', '.join(EXPECTED_CODES)}")
        self.faults = faults
        self.repeat = repeat
        self.rng = np.random.default_rng([seed, 0xFA17])
        self.answers: Counter[str] = Counter()  # "fault:CODE" -> count
        self.on_unexpected = on_unexpected

    def _send(self, loop: WorkerLoop, step: int, names: tuple[str, ...]) -> None:
        for fault in names:
            if fault in NEEDS_EARLIER_ROUND and (
                step == 0 or (fault == "replay" and not _voted_in(loop, step - 1))
            ):
                continue
            for _ in range(self.repeat):
                chunks = build_fault(fault, loop, step, self.rng)
                try:
                    loop.client.submit_raw(chunks)
                    code = "OK"
                except Rejected as exc:
                    code = exc.code.name
                except Unreachable:
                    code = "UNAVAILABLE"
                self.answers[f"{fault}:{code}"] += 1
                if code not in EXPECTED_CODES[fault] and self.on_unexpected is not None:
                    self.on_unexpected(fault, code)

    def before_vote(self, loop: WorkerLoop, step: int) -> None:
        names = tuple(f for f in self.faults if f not in AFTER_VOTE)
        if loop.setup is not None and loop.setup.attack.wire_fault == "garbage":
            names = ("garbage", *names)  # the core "garbage" attack: bytes the master rejects
        self._send(loop, step, names)

    def after_vote(self, loop: WorkerLoop, step: int) -> None:
        if loop.last_vote is not None and loop.last_vote.round == step:
            self._send(loop, step, tuple(f for f in self.faults if f in AFTER_VOTE))
