"""Sharded masters' pure core: shard_ranges, slicing and joining packed votes, and every
shardable scheme's aggregate of each slice, concatenated, against the unsharded aggregate.

Properties over seeded random cases: abstentions, all-zero and tied coordinates (even vote
counts), sparse (INDICES) and dense (MASK) zero encodings, d not a multiple of 64. The whole
aggregate is also held to a naive unpacked oracle, so a wrong slice cannot hide behind a
wrong whole.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from election.errors import ConfigError, VoteFormatError
from election.training.schemes import SCHEMES
from election.votes import pack_ternary, unpack_ternary
from election.votes.shards import WORD_COORDS, join_votes, shard_ranges, slice_vote

LENGTHS = (1, 63, 64, 65, 200, 640, 1001, 64 * 7 + 13)
SHARD_COUNTS = (1, 2, 3, 5)


def random_signs(rng: np.random.Generator, d: int, zero_fraction: float) -> np.ndarray:
    """(d,) int8 in {-1, 0, +1} with about ``zero_fraction`` zeros."""
    signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=d)
    signs[rng.random(d) < zero_fraction] = 0
    return signs


# --- shard_ranges ---


RANGE_CASES = [
    (dim, k)
    for dim in (*LENGTHS, 11_173_962)
    for k in (1, 2, 3, 4, 7, 16)
    if k <= -(-dim // WORD_COORDS)  # more shards than words: the too-many-shards test
]


@pytest.mark.parametrize(("dim", "k"), RANGE_CASES)
def test_ranges_cover_the_vector_contiguously_word_aligned_and_balanced(dim: int, k: int) -> None:
    words = -(-dim // WORD_COORDS)
    ranges = shard_ranges(dim, k)
    assert len(ranges) == k
    assert ranges[0][0] == 0 and ranges[-1][1] == dim
    for (_, hi), (lo, _) in zip(ranges, ranges[1:], strict=False):
        assert hi == lo  # contiguous, no gap, no overlap
    assert all(lo % WORD_COORDS == 0 and lo < hi for lo, hi in ranges)
    owned = [-(-(hi - lo) // WORD_COORDS) for lo, hi in ranges]  # words per shard
    assert sum(owned) == words
    assert max(owned) - min(owned) <= 1


@pytest.mark.parametrize(("dim", "k"), [(64, 2), (65, 3), (1, 2), (1000, 17)])
def test_too_many_shards_for_the_dimension_is_one_config_line(dim: int, k: int) -> None:
    with pytest.raises(ConfigError) as err:
        shard_ranges(dim, k)
    message = str(err.value)
    assert "\n" not in message
    assert f"master_shards={k}" in message and f"at most {-(-dim // 64)}" in message


@pytest.mark.parametrize("k", [0, -1, True, 2.0])
def test_a_shard_count_that_is_not_a_positive_integer_is_refused(k: object) -> None:
    with pytest.raises(ConfigError, match="master_shards"):
        shard_ranges(100, k)  # type: ignore[arg-type]


# --- slicing and joining packed votes ---


@pytest.mark.parametrize("dim", LENGTHS)
@pytest.mark.parametrize("zero_fraction", [0.0, 0.01, 0.3, 1.0])
def test_slices_are_the_canonical_packing_of_the_slices_and_join_back(
    dim: int, zero_fraction: float, executor: str
) -> None:
    rng = np.random.default_rng([dim, int(zero_fraction * 100)])
    signs = random_signs(rng, dim, zero_fraction)
    vote = pack_ternary(signs)
    for k in SHARD_COUNTS:
        if k > -(-dim // 64):
            continue
        parts = [slice_vote(vote, lo, hi) for lo, hi in shard_ranges(dim, k)]
        for part, (lo, hi) in zip(parts, shard_ranges(dim, k), strict=True):
            assert part == pack_ternary(signs[lo:hi])  # values and canonical encoding
        assert join_votes(parts) == vote


def test_a_sparse_vote_whose_slice_is_dense_in_zeros_switches_to_a_mask() -> None:
    d = 64 * 40
    signs = np.ones(d, dtype=np.int8)
    signs[:64] = 0  # 64 zeros: INDICES for the whole (256 B < 320 B), MASK for the first word
    vote = pack_ternary(signs)
    assert vote.zero_kind.name == "INDICES"
    first = slice_vote(vote, 0, 64)
    assert first.zero_kind.name == "MASK" and first == pack_ternary(signs[:64])
    assert slice_vote(vote, 64, d).zero_kind.name == "NONE"


@pytest.mark.parametrize(("lo", "hi"), [(3, 64), (0, 12), (64, 64), (0, 201), (-8, 8)])
def test_misaligned_or_empty_ranges_are_refused(lo: int, hi: int) -> None:
    vote = pack_ternary(np.ones(200, dtype=np.int8))
    with pytest.raises(VoteFormatError, match="range"):
        slice_vote(vote, lo, hi)


def test_join_refuses_a_part_that_is_not_byte_aligned() -> None:
    part = pack_ternary(np.ones(9, dtype=np.int8))
    with pytest.raises(VoteFormatError, match="byte-aligned"):
        join_votes([part, part])


# --- the schemes' aggregates, slice by slice ---


def oracle(scheme_name: str, signs: list[np.ndarray | None], q: int | None) -> np.ndarray:
    """The packed schemes' update by an unpacked int64 count: (d,) int8."""
    rows = np.stack([s for s in signs if s is not None]).astype(np.int64)  # (m, d)
    pos, neg = (rows == 1).sum(axis=0), (rows == -1).sum(axis=0)
    out = np.sign(pos - neg).astype(np.int8)
    if q is not None:
        out[(out == 1) & (pos < q)] = 0
        out[(out == -1) & (neg < q)] = 0
    return out


def _messages(name: str, rng: np.random.Generator, n: int, d: int) -> list[np.ndarray | None]:
    """n workers' messages for scheme ``name``'s vote kind, some abstaining (None)."""
    zero_fraction = rng.choice([0.0, 0.02, 0.4])
    rows: list[np.ndarray | None] = [random_signs(rng, d, zero_fraction) for _ in range(n)]
    dead = rng.choice(d, size=max(1, d // 10), replace=False)
    for row in rows:
        assert row is not None
        row[dead] = 0  # coordinates where every vote is 0
    for j in rng.choice(n, size=int(rng.integers(0, n // 2 + 1)), replace=False):
        rows[j] = None  # abstentions (crash, deadline, rejected garbage)
    return rows


def _as_vote(scheme: object, name: str, row: np.ndarray, rng: np.random.Generator) -> object:
    if SCHEMES[name].vote_encoding == "PACKED_TERNARY":
        return pack_ternary(row)
    if SCHEMES[name].vote_encoding == "INT16_LE":
        return torch.from_numpy(row.astype(np.int16) * int(rng.integers(1, 4)))  # (d,) int16
    return torch.from_numpy(row.astype(np.float32) * rng.random(row.size, dtype=np.float32))


def _update_values(update: object) -> np.ndarray:
    if isinstance(update, torch.Tensor):
        return update.numpy()
    return unpack_ternary(update)  # type: ignore[arg-type]


SHARDABLE = sorted(name for name, cls in SCHEMES.items() if cls.shardable)


def test_every_sign_scheme_and_the_median_shard_and_only_the_float_mean_is_refused() -> None:
    assert {"majority", "sign-of-sum", "signed-sum"} <= set(SHARDABLE)
    refused = [cls() for cls in SCHEMES.values() if not cls.shardable]
    assert refused, "the float mean must be refused"
    for scheme in refused:
        assert scheme.shard_ranges(1000, 1) == ((0, 1000),)  # k = 1 always works
        with pytest.raises(ConfigError) as err:
            scheme.shard_ranges(1000, 2)
        assert "\n" not in str(err.value) and "master_shards=2" in str(err.value)


DECODER_CASES = [
    (name, quorum)
    for name in SHARDABLE
    for quorum in (None, 1, 2, 3)
    if quorum is None or "quorum" in SCHEMES[name].decoders
]


@pytest.mark.parametrize(("name", "quorum"), DECODER_CASES)
@pytest.mark.parametrize("n", [1, 4, 5, 8])
def test_the_shards_updates_concatenated_equal_the_whole_update(
    name: str, quorum: int | None, n: int, executor: str
) -> None:
    cls = SCHEMES[name]
    scheme = cls(quorum=quorum)
    for case in range(6):
        rng = np.random.default_rng([n, quorum or 0, case, len(name)])
        d = int(rng.choice(LENGTHS[3:]))
        rows = _messages(name, rng, n, d)
        votes = [None if r is None else _as_vote(scheme, name, r, rng) for r in rows]
        whole = scheme.aggregate(votes, d)  # type: ignore[arg-type]
        if cls.vote_encoding == "PACKED_TERNARY" and any(r is not None for r in rows):
            assert np.array_equal(_update_values(whole), oracle(name, rows, quorum))
        for k in SHARD_COUNTS:
            if k > -(-d // 64):
                continue
            parts = []
            for lo, hi in scheme.shard_ranges(d, k):
                sliced = [scheme.slice_vote(v, lo, hi) for v in votes]  # type: ignore[arg-type]
                part = scheme.aggregate(sliced, hi - lo)
                assert np.array_equal(
                    _update_values(scheme.slice_update(whole, lo, hi)), _update_values(part)
                )
                parts.append(part)
            joined = scheme.join_updates(parts)
            assert np.array_equal(_update_values(joined), _update_values(whole))
            assert scheme.encode_update(joined) == scheme.encode_update(whole)  # same bytes


def test_every_vote_abstaining_gives_the_all_zero_slices() -> None:
    scheme = SCHEMES["majority"](quorum=None)
    parts = [scheme.aggregate([None, None], hi - lo) for lo, hi in shard_ranges(1001, 3)]
    assert scheme.join_updates(parts) == scheme.aggregate([None, None], 1001)
    assert not unpack_ternary(scheme.join_updates(parts)).any()  # type: ignore[arg-type]
