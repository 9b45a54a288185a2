"""master.rounds.RoundState: validation order, quorum and deadline, publishing; no network."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from election.votes import PackedVote, pack_ternary
from master.rounds import RoundsClosed, RoundState, TooFewVotes
from master.slots import SlotTable
from wire.errors import (
    BadSlot,
    DuplicateVote,
    FutureRound,
    MalformedMessage,
    RunFinished,
    StaleRound,
    Unauthenticated,
    WrongLength,
    WrongRun,
    WrongSlotToken,
)
from wire.messages import Credentials, Payload, RoundUpdate, Vote
from wire.security import SlotTokens

N, D, RUN = 3, 20, "run-a"
TOKENS = SlotTokens(b"k" * 32, RUN, N)


def check_payload(payload: Payload) -> None:
    if not isinstance(payload, PackedVote):
        raise MalformedMessage("packed only")
    if payload.length != D:
        raise WrongLength(f"{payload.length} != {D}")


def state(**kw: object) -> RoundState:
    args: dict[str, object] = dict(
        run_id=RUN,
        n_slots=N,
        total_rounds=5,
        check_token=TOKENS.check,
        check_payload=check_payload,
        round_deadline_s=5.0,
        startup_timeout_s=0.0,
    )
    return RoundState(**(args | kw))  # type: ignore[arg-type]


def vote(slot: int, rnd: int, *, d: int = D, token: str | None = None, run: str = RUN) -> Vote:
    values = np.where(np.arange(d) % (slot + 2) == 0, -1, 1).astype(np.int8)
    cred = Credentials(run, slot, TOKENS.issue(slot) if token is None else token)
    return Vote(cred, rnd, pack_ternary(values))


def update(rnd: int) -> RoundUpdate:
    return RoundUpdate(rnd, "0" * 64, pack_ternary(np.ones(D, dtype=np.int8)), N, 0)


def test_quorum_closes_the_round_with_every_vote_in_slot_order() -> None:
    s = state()
    votes = [vote(j, 0) for j in (2, 0, 1)]
    held = [s.submit(v) for v in votes]
    assert held == [1, 2, 3]
    t0 = time.monotonic()
    got = s.collect(0)
    assert time.monotonic() - t0 < 1.0
    assert got == [vote(0, 0).payload, vote(1, 0).payload, vote(2, 0).payload]


def test_missing_vote_is_an_abstention_after_the_deadline() -> None:
    s = state(round_deadline_s=0.2)
    s.submit(vote(0, 0))
    t0 = time.monotonic()
    got = s.collect(0)
    assert 0.15 <= time.monotonic() - t0 < 2.0
    assert got[0] is not None and got[1] is None and got[2] is None


def test_first_round_waits_for_every_slot_to_join_before_the_deadline_starts() -> None:
    s = state(round_deadline_s=0.1, startup_timeout_s=10.0)
    for slot in range(N):
        threading.Timer(0.3, s.mark_joined, args=(slot,)).start()
    threading.Timer(0.35, s.submit, args=(vote(1, 0),)).start()
    got = s.collect(0)
    assert got[1] is not None  # the slow slot's vote counted


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: vote(0, 0, run="run-b"), WrongRun),
        (lambda: vote(0, 0, token=""), Unauthenticated),
        (lambda: vote(0, 0, token="00" * 32), Unauthenticated),
        (lambda: vote(0, 0, token=TOKENS.issue(1)), WrongSlotToken),
        (lambda: Vote(Credentials(RUN, N, TOKENS.issue(0)), 0, vote(0, 0).payload), BadSlot),
        (lambda: vote(0, 1), FutureRound),
        (lambda: vote(0, 0, d=D + 1), WrongLength),
    ],
)
def test_bad_votes_are_refused_with_their_reason_and_leave_the_round_untouched(make, error) -> None:  # type: ignore[no-untyped-def]
    s = state(round_deadline_s=0.05)
    with pytest.raises(error):
        s.submit(make())
    assert s.collect(0) == [None, None, None]


def test_duplicate_and_replayed_votes_are_refused_and_the_first_vote_stays() -> None:
    s = state(round_deadline_s=0.05)
    first = vote(0, 0)
    s.submit(first)
    with pytest.raises(DuplicateVote):
        s.submit(first)
    with pytest.raises(DuplicateVote):
        s.submit(vote(0, 0, d=D))
    assert s.collect(0)[0] == first.payload


def test_votes_after_collect_and_for_old_rounds_are_stale() -> None:
    s = state(round_deadline_s=0.05)
    s.collect(0)
    with pytest.raises(StaleRound):
        s.submit(vote(0, 0))  # the round is closing
    s.publish(update(0))
    with pytest.raises(StaleRound):
        s.submit(vote(0, 0))
    assert s.submit(vote(0, 1)) == 1


def test_published_updates_are_served_then_expire_into_stale() -> None:
    s = state(round_deadline_s=0.01)
    for r in range(3):
        s.collect(r)
        s.publish(update(r))
    assert s.wait_update(2, 0.0) == update(2)
    assert s.wait_update(1, 0.0) == update(1)
    with pytest.raises(StaleRound):
        s.wait_update(0, 0.0)
    with pytest.raises(FutureRound):
        s.wait_update(4, 0.0)
    assert s.wait_update(3, 0.05) is None  # open round: long poll times out


def test_long_poll_returns_as_soon_as_the_round_is_published() -> None:
    s = state(round_deadline_s=0.01)

    def close_round() -> None:
        s.collect(0)
        s.publish(update(0))

    threading.Timer(0.1, close_round).start()
    assert s.wait_update(0, 5.0) == update(0)


def test_votes_after_the_last_round_are_refused_as_finished() -> None:
    s = state(total_rounds=1, round_deadline_s=0.01)
    s.collect(0)
    s.publish(update(0))
    assert s.finished
    with pytest.raises(RunFinished):
        s.submit(vote(0, 1))


def test_close_wakes_the_collector() -> None:
    s = state(round_deadline_s=30.0)
    threading.Timer(0.05, s.close).start()
    with pytest.raises(RoundsClosed):
        s.collect(0)


def test_restored_last_update_is_served_after_a_restart() -> None:
    s = state(first_round=3, last_update=update(2))
    assert s.open_round == 3
    assert s.wait_update(2, 0.0) == update(2)


def test_slot_table_hands_out_slots_in_seeded_order_and_allows_explicit_rejoin() -> None:
    table = SlotTable(4, seed=1)
    first = [table.claim(-1) for _ in range(3)]
    assert first == list(SlotTable(4, seed=1).order[:3])
    assert table.claim(first[0]) == first[0]  # a restarted worker re-claims its slot
    last = table.claim(-1)
    assert sorted([*first, last]) == [0, 1, 2, 3]
    with pytest.raises(Exception, match="taken"):
        table.claim(-1)
    with pytest.raises(BadSlot):
        table.claim(4)


def test_a_round_short_of_min_votes_waits_then_raises_and_keeps_its_votes() -> None:
    s = state(round_deadline_s=0.05, min_votes=2, min_votes_wait_s=0.2)
    s.submit(vote(0, 0))
    t0 = time.monotonic()
    with pytest.raises(TooFewVotes, match="round 0 has 1 vote"):
        s.collect(0)
    assert 0.2 <= time.monotonic() - t0 < 2.0
    assert s.open_round == 0 and s.submit(vote(1, 0)) == 2  # still open, votes kept


def test_a_late_vote_reaching_min_votes_closes_the_round_after_its_deadline() -> None:
    s = state(round_deadline_s=0.05, min_votes=2, min_votes_wait_s=5.0)
    s.submit(vote(0, 0))
    threading.Timer(0.3, s.submit, args=(vote(2, 0),)).start()
    t0 = time.monotonic()
    got = s.collect(0)
    assert 0.25 <= time.monotonic() - t0 < 3.0
    assert got[0] is not None and got[1] is None and got[2] is not None
