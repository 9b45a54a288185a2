"""PackedVote layout, the packer's encoding choice and the byte frame (docs/vote_layout.md)."""

from __future__ import annotations

import numpy as np
import pytest

from election.errors import VoteFormatError
from election.votes import PackedVote, ZeroKind, pack_ternary, unpack_ternary
from election.votes.frame import HEADER_SIZE

LENGTHS = (1, 7, 8, 9, 63, 64, 65, 1001)


def random_signs(rng: np.random.Generator, d: int, zeros_frac: float) -> np.ndarray:
    signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=d)
    signs[rng.random(d) < zeros_frac] = 0
    return signs


@pytest.mark.parametrize("d", LENGTHS)
@pytest.mark.parametrize("zeros_frac", [0.0, 0.01, 0.5, 1.0])
def test_pack_then_unpack_returns_the_signs(d: int, zeros_frac: float) -> None:
    signs = random_signs(np.random.default_rng(d), d, zeros_frac)
    vote = pack_ternary(signs)
    assert vote.length == d
    assert vote.zero_count == int(np.sum(signs == 0))
    np.testing.assert_array_equal(unpack_ternary(vote), signs)


def test_layout_is_lsb_first_with_sign_bit_one_for_negative() -> None:
    vote = pack_ternary(np.array([-1, 1, 1, -1, 1, 1, 1, 1, -1], dtype=np.int8))
    assert vote.sign_bits.tolist() == [0b00001001, 0b00000001]
    assert vote.zero_kind == ZeroKind.NONE and vote.nbytes == 2


def test_zero_coordinates_have_sign_bit_zero_and_are_listed() -> None:
    vote = pack_ternary(np.array([0, -1] + [1] * 62 + [0], dtype=np.int8))
    assert vote.sign_bits[0] == 0b10
    assert vote.zero_kind == ZeroKind.INDICES
    assert vote.zero_data.view("<u4").tolist() == [0, 64]


def test_packer_picks_indices_when_smaller_and_mask_otherwise() -> None:
    d = 800  # 100 bytes per bit-plane: INDICES iff 4 * zeros < 100
    few = np.ones(d, dtype=np.int8)
    few[:24] = 0
    many = np.ones(d, dtype=np.int8)
    many[:25] = 0
    assert pack_ternary(few).zero_kind == ZeroKind.INDICES
    assert pack_ternary(few).nbytes == 100 + 96
    assert pack_ternary(many).zero_kind == ZeroKind.MASK
    assert pack_ternary(many).nbytes == 200


def test_equal_vectors_pack_to_equal_votes_and_different_ones_do_not() -> None:
    signs = random_signs(np.random.default_rng(1), 100, 0.3)
    assert pack_ternary(signs) == pack_ternary(signs.copy())
    flipped = signs.copy()
    flipped[5] = -flipped[5] if flipped[5] else 1
    assert pack_ternary(flipped) != pack_ternary(signs)


def test_packed_arrays_are_read_only() -> None:
    vote = pack_ternary(np.array([1, -1, 0], dtype=np.int8))
    with pytest.raises(ValueError):
        vote.sign_bits[0] = 1


@pytest.mark.parametrize("bad", [np.array([2, 0], np.int8), np.array([0.5]), np.zeros((2, 2), int)])
def test_packer_rejects_values_outside_minus_one_zero_one(bad: np.ndarray) -> None:
    with pytest.raises(VoteFormatError):
        pack_ternary(bad)


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"length": 9, "sign_bits": np.zeros(1, np.uint8)}, "ceil"),
        ({"length": 9, "sign_bits": np.array([0, 2], np.uint8)}, "padding"),
        ({"length": 0, "sign_bits": np.zeros(0, np.uint8)}, "length"),
        (
            {
                "length": 9,
                "sign_bits": np.zeros(2, np.uint8),
                "zero_kind": ZeroKind.MASK,
                "zero_data": np.zeros(1, np.uint8),
            },
            "mask",
        ),
        (
            {
                "length": 9,
                "sign_bits": np.zeros(2, np.uint8),
                "zero_kind": ZeroKind.MASK,
                "zero_data": np.array([0, 4], np.uint8),
            },
            "padding",
        ),
        (
            {
                "length": 9,
                "sign_bits": np.array([1, 0], np.uint8),
                "zero_kind": ZeroKind.MASK,
                "zero_data": np.array([1, 0], np.uint8),
            },
            "sign bit 1",
        ),
        (
            {
                "length": 9,
                "sign_bits": np.zeros(2, np.uint8),
                "zero_kind": ZeroKind.INDICES,
                "zero_data": np.array([9], "<u4").view(np.uint8),
            },
            "out of range",
        ),
        (
            {
                "length": 9,
                "sign_bits": np.zeros(2, np.uint8),
                "zero_kind": ZeroKind.INDICES,
                "zero_data": np.array([3, 3], "<u4").view(np.uint8),
            },
            "increasing",
        ),
        (
            {
                "length": 9,
                "sign_bits": np.zeros(2, np.uint8),
                "zero_kind": ZeroKind.INDICES,
                "zero_data": np.zeros(3, np.uint8),
            },
            "4 bytes",
        ),
        (
            {"length": 9, "sign_bits": np.zeros(2, np.uint8), "zero_kind": 7},
            "zero_kind",
        ),
    ],
)
def test_malformed_votes_raise_vote_format_error_naming_the_rule(kwargs: dict, rule: str) -> None:
    with pytest.raises(VoteFormatError, match=rule):
        PackedVote(**kwargs)


@pytest.mark.parametrize("zeros_frac", [0.0, 0.01, 0.5])
@pytest.mark.parametrize("d", [1, 9, 1001])
def test_frame_round_trips_and_costs_sixteen_bytes_of_header(d: int, zeros_frac: float) -> None:
    vote = pack_ternary(random_signs(np.random.default_rng(d), d, zeros_frac))
    frame = vote.to_bytes()
    assert len(frame) == HEADER_SIZE + vote.nbytes
    assert PackedVote.from_bytes(frame) == vote
    assert PackedVote.from_bytes(bytearray(frame)) == vote


def _frame() -> bytes:
    signs = np.ones(100, dtype=np.int8)
    signs[3] = 0
    return pack_ternary(signs).to_bytes()  # d=100: 13 sign bytes (4 bits used in the last), 1 index


@pytest.mark.parametrize(
    ("mutate", "rule"),
    [
        (lambda f: f[:10], "header"),
        (lambda f: f[:-1], "implies"),
        (lambda f: f + b"\0", "implies"),
        (lambda f: b"XV" + f[2:], "magic"),
        (lambda f: f[:2] + b"\x02" + f[3:], "version"),
        (lambda f: f[:3] + b"\x05" + f[4:], "zero_kind"),
        (lambda f: f[: HEADER_SIZE + 12] + b"\xf0" + f[HEADER_SIZE + 13 :], "padding"),
        (lambda f: f[:-4] + (100).to_bytes(4, "little"), "out of range"),
    ],
)
def test_malformed_frames_raise_vote_format_error(mutate, rule: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(VoteFormatError, match=rule):
        PackedVote.from_bytes(mutate(_frame()))
