"""Round state of the master: validate and store votes, close a round on quorum or deadline,
publish its update for the long-polling workers (docs/design.md, Sec. 3 Architecture and one
round, step 4, and Sec. 4 Wire protocol (gRPC)).

A pure, thread-safe class (no grpc): RPC threads call :meth:`RoundState.submit` and
:meth:`RoundState.wait_update`; the training loop calls :meth:`collect` then :meth:`publish`.

Rules, checked in this order (the first broken one is raised, see :mod:`wire.errors`):
    token is some slot's token              else Unauthenticated (nothing is checked before)
    slot in range, token is the slot's      else BadSlot / WrongSlotToken
    run id <= 64 characters, == this run    else FieldTooLong / WrongRun
    run not finished                        else RunFinished
    round == the open round, not closing    else StaleRound (older / closing) or FutureRound
    slot has not voted in this round        else DuplicateVote
    payload fits the model (check_payload)  else WrongLength / MalformedMessage
Only a vote that passes every rule is stored, so a rejected message never changes state.

Deadline: round r opens when update r-1 is published; it closes when all n slots voted or
``round_deadline_s`` after it opened, a slot without a vote abstaining (0), but never with fewer
than ``min_votes`` votes: short of them it waits up to ``min_votes_wait_s`` more, then raises
TooFewVotes (the master checkpoints and stops). The first round this process collects waits
(up to ``startup_timeout_s``) until every slot has joined, so slow-starting workers are not
counted as abstentions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from election.errors import ElectionError
from wire.errors import (
    DuplicateVote,
    FutureRound,
    RunFinished,
    StaleRound,
    WrongRun,
)
from wire.limits import MAX_RUN_ID_CHARS, check_length, clip
from wire.messages import Credentials, Payload, RoundUpdate, Vote

KEEP_UPDATES = 2  # published updates kept for late GetUpdate calls; older ones need a resync


class RoundsClosed(RuntimeError):
    """The round state was shut down (master stopping)."""


class TooFewVotes(ElectionError):
    """A round stayed below min_votes past its deadline plus the wait: the master stops."""

    def __init__(self, round_id: int, votes: int, min_votes: int, waited_s: float) -> None:
        super().__init__(
            f"round {round_id} has {votes} vote(s), fewer than min_votes = {min_votes}, "
            f"{waited_s:g} s after its deadline; the master stopped"
        )
        self.round = round_id
        self.votes = votes


class RoundState:
    def __init__(
        self,
        *,
        run_id: str,
        n_slots: int,
        total_rounds: int,
        check_token: Callable[[int, str], None],
        check_payload: Callable[[Payload], None],
        round_deadline_s: float,  # master.config.MasterConfig holds the defaults
        startup_timeout_s: float,
        first_round: int = 0,
        last_update: RoundUpdate | None = None,
        min_votes: int = 0,
        min_votes_wait_s: float = 0.0,
    ) -> None:
        self.run_id = run_id
        self.n_slots = n_slots
        self.total_rounds = total_rounds
        self.round_deadline_s = round_deadline_s
        self.min_votes = min_votes  # a round never closes with fewer votes (0: no minimum)
        self.min_votes_wait_s = min_votes_wait_s  # past the deadline, wait this long for them
        self._check_token = check_token
        self._check_payload = check_payload
        self._cond = threading.Condition()
        self._first_round = first_round
        self._open = first_round  # the round accepting votes
        self._opened_at = time.monotonic()
        self._gate_deadline = self._opened_at + startup_timeout_s
        self._closing = False  # collect() returned; votes for the open round are now stale
        self._votes: dict[int, Payload] = {}  # slot -> payload of the open round
        self._losses: dict[int, tuple[float, ...]] = {}  # slot -> its partitions' train losses
        self._updates: dict[int, RoundUpdate] = {}  # round -> published update
        self._parts: dict[int, RoundUpdate] = {}  # round -> a shard's part (no digest yet)
        if last_update is not None:
            self._updates[last_update.round] = last_update
        self._joined: set[int] = set()
        self._fetched_final: set[int] = set()
        self._closed = False
        self._listeners: list[Callable[[], None]] = []  # told of every publish and close

    # --- read-only views ---
    @property
    def open_round(self) -> int:
        with self._cond:
            return self._open

    @property
    def finished(self) -> bool:
        with self._cond:
            return self._open >= self.total_rounds

    @property
    def closed(self) -> bool:
        """The master is shutting down (:meth:`close` was called)."""
        with self._cond:
            return self._closed

    def joined(self) -> int:
        with self._cond:
            return len(self._joined)

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (from the publishing thread) after every publish and close.

        The asynchronous server uses it to wake its long polls without a thread per poll.
        """
        with self._cond:
            self._listeners.append(listener)

    def _changed(self) -> None:
        self._cond.notify_all()
        for listener in self._listeners:
            listener()

    # --- called by RPC threads ---
    def mark_joined(self, slot: int) -> None:
        with self._cond:
            self._joined.add(slot)
            self._cond.notify_all()

    def check_reader(self, cred: Credentials) -> None:
        """Authenticate first (token), then the run id; every RPC with credentials calls this."""
        self._check_token(cred.slot, cred.token)
        check_length("run_id", cred.run_id, MAX_RUN_ID_CHARS)
        if cred.run_id != self.run_id:
            raise WrongRun(f"run id {clip(cred.run_id)} is not this run's {self.run_id!r}")

    def check_open(self, slot: int, r: int) -> None:
        """Whether ``slot`` may still vote in round ``r`` (before its payload is read)."""
        with self._cond:
            self._check_open_locked(slot, r)

    def _check_open_locked(self, slot: int, r: int) -> None:
        if self._open >= self.total_rounds:
            raise RunFinished(f"the run finished after {self.total_rounds} rounds")
        if r < self._open or (r == self._open and self._closing):
            raise StaleRound(f"round {r} is closed; the open round is {self._next_open()}")
        if r > self._open:
            raise FutureRound(f"round {r} is not open yet; the open round is {self._open}")
        if slot in self._votes:
            raise DuplicateVote(f"slot {slot} already voted in round {r}")

    def submit(self, vote: Vote) -> int:
        """Validate and store a vote; returns the number of votes now held for its round."""
        self.check_reader(vote.credentials)
        slot, r = vote.credentials.slot, vote.round
        self.check_open(slot, r)
        self._check_payload(vote.payload)  # outside the lock: may scan megabytes
        with self._cond:
            if r != self._open or self._closing:
                raise StaleRound(f"round {r} closed while its vote was checked")
            if slot in self._votes:
                raise DuplicateVote(f"slot {slot} already voted in round {r}")
            self._votes[slot] = vote.payload
            self._losses[slot] = vote.losses
            self._cond.notify_all()
            return len(self._votes)

    def wait_update(self, round_id: int, timeout_s: float) -> RoundUpdate | None:
        """The update of ``round_id``, waiting up to ``timeout_s`` if it is the open round.

        Raises StaleRound when it is no longer kept (resync), FutureRound when the round is not
        open yet, RoundsClosed when shutting down; None when the wait timed out.
        """

        def look() -> RoundUpdate | None:
            if round_id in self._updates:
                return self._updates[round_id]
            if self._updates and round_id < min(self._updates):
                raise StaleRound(f"update {round_id} is gone; resync from a snapshot")
            if round_id > self._open:
                raise FutureRound(f"round {round_id} is not open; the open round is {self._open}")
            if round_id < self._open:
                raise StaleRound(f"update {round_id} is not kept; resync from a snapshot")
            return None

        return self._wait_for(look, timeout_s)

    def mark_fetched_final(self, slot: int) -> None:
        """A slot received the last round's update (the master may stop once all did).

        Called only once the whole update was written to the slot's live stream.
        """
        with self._cond:
            self._fetched_final.add(slot)
            self._cond.notify_all()

    # --- called by the training loop ---
    def collect(self, round_id: int) -> list[Payload | None]:
        """Block until every slot voted or the deadline (and min_votes) passed; returns one
        payload per slot (None = abstention). Raises TooFewVotes, RoundsClosed."""
        with self._cond:
            if round_id != self._open:
                raise ValueError(f"collect({round_id}) but the open round is {self._open}")
            start = self._opened_at
            if round_id == self._first_round:
                while len(self._joined) < self.n_slots and len(self._votes) < self.n_slots:
                    self._raise_if_closed()
                    remaining = self._gate_deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                start = max(start, time.monotonic())
            deadline = start + self.round_deadline_s
            while len(self._votes) < self.n_slots:
                self._raise_if_closed()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            last_chance = deadline + self.min_votes_wait_s
            while len(self._votes) < self.min_votes:
                self._raise_if_closed()
                remaining = last_chance - time.monotonic()
                if remaining <= 0:
                    raise TooFewVotes(
                        round_id, len(self._votes), self.min_votes, self.min_votes_wait_s
                    )
                self._cond.wait(remaining)
            self._closing = True
            return [self._votes.get(slot) for slot in range(self.n_slots)]

    def collected_losses(self) -> list[tuple[float, ...]]:
        """Per slot, the train losses that came with its vote in the round :meth:`collect`
        closed (() for none); valid until :meth:`publish`."""
        with self._cond:
            return [self._losses.get(slot, ()) for slot in range(self.n_slots)]

    def publish(self, update: RoundUpdate) -> None:
        """Publish the open round's update and open the next round."""
        with self._cond:
            if update.round != self._open:
                raise ValueError(f"publish({update.round}) but the open round is {self._open}")
            self._updates[update.round] = update
            for old in [r for r in self._updates if r <= update.round - KEEP_UPDATES]:
                del self._updates[old]
            self._parts.pop(update.round, None)  # the published update carries the part
            self._open = update.round + 1
            self._opened_at = time.monotonic()
            self._votes = {}
            self._losses = {}
            self._closing = False
            self._changed()

    def publish_part(self, round_id: int, part: Payload) -> None:
        """A master shard aggregated its coordinates of the open round: its peers may have the
        part now (:meth:`wait_part`), before the round's update is applied and published."""
        with self._cond:
            if round_id != self._open:
                raise ValueError(f"publish_part({round_id}) but the open round is {self._open}")
            self._parts[round_id] = RoundUpdate(round_id, "", part)
            self._changed()

    def wait_part(self, round_id: int, timeout_s: float) -> RoundUpdate | None:
        """This shard's part of round ``round_id``'s update (its ``payload``; the digest is ""
        until the round is published), waiting up to ``timeout_s`` while the round is open or
        ahead (a peer shard may be a round ahead); None when the wait timed out. Raises
        StaleRound when the round is no longer kept, RoundsClosed when shutting down."""

        def look() -> RoundUpdate | None:
            if round_id in self._parts:
                return self._parts[round_id]
            if round_id in self._updates:  # published (or re-served after a restart)
                return self._updates[round_id]
            if round_id < self._open:
                raise StaleRound(f"part {round_id} is not kept; the peer shard is behind")
            return None

        return self._wait_for(look, timeout_s)

    def _wait_for(
        self, look: Callable[[], RoundUpdate | None], timeout_s: float
    ) -> RoundUpdate | None:
        """``look()`` under the lock until it answers (its errors propagate), the state is
        closed (RoundsClosed) or ``timeout_s`` passed (None)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                found = look()
                if found is not None:
                    return found
                if self._closed:
                    raise RoundsClosed("master is shutting down")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def wait_final_fetched(self, slots: int, timeout_s: float) -> bool:
        """After the last round: wait until ``slots`` slots fetched the final update."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(self._fetched_final) < slots:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._changed()

    def latest_update(self) -> RoundUpdate | None:
        """The newest published update (what a checkpoint keeps for late GetUpdate calls)."""
        with self._cond:
            return self._updates[max(self._updates)] if self._updates else None

    def _raise_if_closed(self) -> None:
        if self._closed:
            raise RoundsClosed("master is shutting down")

    def _next_open(self) -> int:
        return self._open + 1 if self._closing else self._open
