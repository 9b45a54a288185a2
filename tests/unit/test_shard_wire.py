"""Sharded masters' pure pieces (docs/grpc.md, "Sharded masters"): payload slices joined back,
a shard's part served before and after its round is published, the role configs' checks."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from election.errors import ConfigError
from election.votes import pack_ternary, unpack_ternary
from election.votes.shards import shard_ranges
from master.config import MasterConfig, parse_ordinal, peer_addresses
from master.rounds import RoundsClosed, RoundState
from tests.unit.test_rounds import D, N, state, update, vote
from wire.errors import MalformedMessage, StaleRound
from wire.messages import RawPayload, join_payloads, slice_payload
from wire.security import peer_token
from worker.config import WorkerConfig, master_address_problem

# (d, k): a single word, d not a multiple of 64, a shard of exactly one word, k = 3 and 4
CUTS = [(64, 1), (200, 2), (130, 3), (1000, 3), (4810, 4)]


@pytest.mark.parametrize(("d", "k"), CUTS)
@pytest.mark.parametrize("zeros", [0.0, 0.01, 0.6])
def test_packed_slices_joined_in_shard_order_are_the_whole_vote(
    d: int, k: int, zeros: float
) -> None:
    rng = np.random.default_rng([d, k, int(zeros * 100)])
    values = rng.choice(np.array([-1, 1], dtype=np.int8), d)  # (d,) int8 in {-1, +1}
    values[rng.random(d) < zeros] = 0
    whole = pack_ternary(values)
    parts = [slice_payload(whole, lo, hi) for lo, hi in shard_ranges(d, k)]
    for (lo, hi), part in zip(shard_ranges(d, k), parts, strict=True):
        assert np.array_equal(unpack_ternary(part), values[lo:hi])  # naive oracle: the slice
    joined = join_payloads(parts)
    assert np.array_equal(unpack_ternary(joined), values)


@pytest.mark.parametrize("encoding", ["INT16_LE", "FLOAT32_LE"])
def test_raw_slices_joined_are_the_whole_payload(encoding: str) -> None:
    dtype = np.int16 if encoding == "INT16_LE" else np.float32
    values = np.arange(-50, 80).astype(dtype)  # (130,)
    whole = RawPayload(encoding, values.tobytes())
    parts = [slice_payload(whole, lo, hi) for lo, hi in shard_ranges(130, 3)]
    assert [p.length for p in parts] == [hi - lo for lo, hi in shard_ranges(130, 3)]
    assert join_payloads(parts) == whole


def test_parts_of_different_encodings_are_refused() -> None:
    packed = pack_ternary(np.ones(64, dtype=np.int8))
    raw = RawPayload("INT16_LE", np.ones(64, dtype=np.int16).tobytes())
    with pytest.raises(MalformedMessage):
        join_payloads([packed, raw])
    with pytest.raises(MalformedMessage):
        join_payloads([raw, RawPayload("FLOAT32_LE", raw.data)])


def _closed_round(rounds: RoundState, r: int) -> None:
    for slot in range(N):
        rounds.submit(vote(slot, r))
    rounds.collect(r)


def test_a_part_is_served_once_aggregated_then_from_the_published_update() -> None:
    rounds = state()
    assert rounds.wait_part(0, 0.0) is None  # open, not aggregated yet
    assert rounds.wait_part(1, 0.0) is None  # a peer a round ahead waits too
    _closed_round(rounds, 0)
    part = pack_ternary(np.full(D, -1, dtype=np.int8))
    rounds.publish_part(0, part)
    served = rounds.wait_part(0, 0.0)
    assert served is not None and (served.payload, served.digest) == (part, "")
    published = update(0)
    rounds.publish(published)
    assert rounds.wait_part(0, 0.0) == published  # what a restarted shard re-serves


def test_a_waiting_peer_is_woken_by_the_part_and_an_old_part_is_stale() -> None:
    rounds = state()
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(rounds.wait_part(0, 30.0).payload))  # type: ignore[union-attr]
    waiter.start()
    _closed_round(rounds, 0)
    part = pack_ternary(np.ones(D, dtype=np.int8))
    rounds.publish_part(0, part)
    waiter.join(10)
    assert got == [part]
    for r in range(4):  # KEEP_UPDATES rounds later the part of round 0 is gone
        if r:
            _closed_round(rounds, r)
        rounds.publish(update(r))
    with pytest.raises(StaleRound):
        rounds.wait_part(0, 0.0)
    with pytest.raises(ValueError):
        rounds.publish_part(2, part)  # not the open round
    rounds.close()
    with pytest.raises(RoundsClosed):
        rounds.wait_part(4, 0.0)


def test_master_shard_settings_are_checked_together() -> None:
    assert MasterConfig().peers == ()
    two = MasterConfig(master_shards=2, shard=1, shard_peers="a:1, b:2")
    assert two.peers == ("a:1", "b:2")
    with pytest.raises(ConfigError, match=r"must be in \[0, --master-shards = 2\)"):
        MasterConfig(master_shards=2, shard=2, shard_peers="a:1,b:2")
    with pytest.raises(ConfigError, match="needs --shard-peers with 2"):
        MasterConfig(master_shards=2, shard_peers="a:1")
    with pytest.raises(ConfigError, match="checkpoints every round"):
        MasterConfig(
            master_shards=2, shard_peers="a:1,b:2", checkpoint_dir="/tmp/c", checkpoint_every=5
        )
    assert parse_ordinal("election-master-3") == 3 and parse_ordinal(" 2 ") == 2
    with pytest.raises(ValueError):
        parse_ordinal("master")
    assert peer_addresses(",a:1,,b:2,") == ("a:1", "b:2")


def test_a_worker_lists_every_shard_in_order() -> None:
    wc = WorkerConfig(master="m0:7000,m1,10.0.0.3:7002", port=7001)
    assert wc.targets == ("m0:7000", "m1:7001", "10.0.0.3:7002")
    assert wc.target == "m0:7000"
    assert master_address_problem("m0:1,m1:70000") is not None
    assert master_address_problem("m0:1,m1:2") is None


def test_the_peer_token_is_keyed_by_the_join_secret() -> None:
    assert peer_token("") == ""  # open mode
    token = peer_token("s" * 32)
    assert len(token) == 64 and token != peer_token("t" * 32)
    assert token == peer_token("s" * 32)
