"""The aggregation schemes as objects: each owns its honest message, its all-partition target,
its aggregate and its wire codec (paper Sec. 3 and Sec. 5; docs/design.md, Sec. 3 Architecture
and one round).

Given partition signals x_i (d,), partition signs u_i = sign(x_i) and a worker's partitions S_j:
    majority    (Election Coding / SignSGD-MV):  E_j = sign(sum_{i in S_j} u_i),
                master: sign(sum_j E_j) (plain) or its quorum decoder -- packed ternary votes
    signed-sum  (paper baseline):  m_j = sum_{i in S_j} u_i (int16), master: sign(sum_j m_j)
    sign-of-sum (the paper's --signed_sum, docs/paper.md):  E_j = sign(sum_{i in S_j} x_i),
                master: sign(sum_j E_j)                    -- packed ternary, as majority
    median      (paper baseline):  m_j = mean_{i in S_j} x_i, master: coordinate-wise median
    sgd         (reference):       m_j = mean_{i in S_j} x_i, master: mean_j m_j
The all-partition target an omniscient attacker aims at is the master's rule applied to every
partition: mu = sign(sum_i u_i) (sign-of-sum: sign(sum_i x_i)), or the mean partition signal.
A missing vote (crash, rejected garbage, deadline) is an abstention: it adds nothing to sums and
is left out of the median and the mean. A worker holding no partition (an empty row of G) sends
the all-zero vote in the sign schemes; the gradient schemes refuse such a code.

The scheme name is resolved here and only here: :func:`scheme_for` turns a configuration into
its scheme object once (:func:`election.training.setup.prepare`), and every other module asks
the object. A vote is a :class:`PackedVote` (packed schemes) or a (d,) tensor (raw schemes);
an update is a :class:`PackedVote` or a (d,) tensor before it is applied.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch

from election.errors import ConfigError, VoteFormatError
from election.votes import PackedVote, majority
from election.votes.shards import join_votes, shard_ranges, slice_vote
from election.votes.torch_ops import pack_ternary_torch, sign_ternary, unpack_to_torch

if TYPE_CHECKING:
    from election.config import TrainConfig

Vote = PackedVote | torch.Tensor  # what the master aggregates
Update = PackedVote | torch.Tensor  # what the master applies and broadcasts
Signals = Mapping[int, torch.Tensor]  # partition -> (d,) float32

# Wire encodings of a payload (names of the protocol's Encoding values, docs/vote_layout.md).
PACKED_TERNARY = "PACKED_TERNARY"  # PackedVote.to_bytes: 1 bit per coordinate + zero encoding
RAW_DTYPES: dict[str, np.dtype] = {
    "INT16_LE": np.dtype("<i2"),  # (d,) int16 little-endian
    "FLOAT32_LE": np.dtype("<f4"),  # (d,) float32 little-endian
}


def partition_signs(signals: Signals) -> dict[int, torch.Tensor]:
    """u_i = sign(x_i): partition -> (d,) int8."""
    return {i: sign_ternary(x) for i, x in signals.items()}


def _raw_bytes(tensor: torch.Tensor, encoding: str) -> bytes:
    return tensor.detach().cpu().numpy().astype(RAW_DTYPES[encoding]).tobytes()


def _raw_tensor(data: bytes, dim: int, encoding: str, what: str) -> torch.Tensor:
    dtype = RAW_DTYPES[encoding]
    if len(data) != dim * dtype.itemsize:
        raise VoteFormatError(f"{what} has {len(data)} bytes, expected {dim * dtype.itemsize}")
    return torch.from_numpy(np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("=")))


def _packed(data: bytes, dim: int, what: str) -> PackedVote:
    vote = PackedVote.from_bytes(data)
    if vote.length != dim:
        raise VoteFormatError(f"{what} has {vote.length} coordinates, expected {dim}")
    return vote


class Scheme(ABC):
    """One aggregation scheme, bound to the run's decoder (``quorum``: None = plain rule)."""

    name: ClassVar[str]
    vote_encoding: ClassVar[str]  # PACKED_TERNARY or a RAW_DTYPES key
    update_encoding: ClassVar[str] = PACKED_TERNARY
    decoders: ClassVar[tuple[str, ...]] = ("plain",)  # decoders the master may use
    uses_partition_signs: ClassVar[bool] = False  # messages built on u_i (the audit compares mu)
    idle_votes_zero: ClassVar[bool] = True  # a worker with no partition votes (d,) zeros
    accusable: ClassVar[bool] = False  # honest packed votes are sign(G u): proofs are sound
    # The aggregate is exact coordinate by coordinate, so k master shards may each aggregate a
    # slice (election/votes/shards.py); False where a float reduction's bits could differ.
    shardable: ClassVar[bool] = True

    def __init__(self, quorum: int | None = None, *, b: int = 0) -> None:
        self.quorum = quorum
        self.b = b  # the run's Byzantine count (what the robust aggregators tolerate: f = b)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(quorum={self.quorum})"

    # --- the worker's side ---
    def signs(self, signals: Signals) -> dict[int, torch.Tensor] | None:
        """The partition signs the honest message needs (None when it needs none)."""
        return partition_signs(signals) if self.uses_partition_signs else None

    def honest(
        self,
        partitions: Sequence[int],
        signals: Signals,
        signs: Signals | None = None,
        *,
        dim: int | None = None,
    ) -> torch.Tensor:
        """What an honest worker holding ``partitions`` sends; ``dim`` is needed only for a
        worker with no partition (its vote is (dim,) zeros)."""
        if partitions:
            return self._honest(partitions, signals, signs)
        if not self.idle_votes_zero or dim is None:
            raise ValueError(f"a worker with no partition has no {self.name} message")
        return torch.zeros(dim, dtype=self._idle_dtype)

    _idle_dtype: ClassVar[torch.dtype] = torch.int8

    @abstractmethod
    def _honest(
        self, partitions: Sequence[int], signals: Signals, signs: Signals | None
    ) -> torch.Tensor: ...

    @abstractmethod
    def target(self, signals: Signals, signs: Signals | None) -> torch.Tensor:
        """The all-partition target over ``signals`` (every partition)."""

    def lazy_target(
        self, n: int, known: Signals, compute: Callable[[list[int]], Signals]
    ) -> Callable[[], torch.Tensor]:
        """The all-partition target as a memoised thunk: partitions missing from ``known`` are
        computed (once) only if an attack asks for the target."""
        cache: list[torch.Tensor] = []

        def target() -> torch.Tensor:
            if not cache:
                everything = dict(known)
                everything.update(compute([i for i in range(n) if i not in everything]))
                cache.append(self.target(everything, self.signs(everything)))
            return cache[0]

        return target

    # --- the master's side ---
    @abstractmethod
    def as_vote(self, message: torch.Tensor) -> Vote:
        """A worker's message as the master aggregates it (packed for the packed schemes)."""

    @abstractmethod
    def aggregate(self, votes: Sequence[Vote | None], dim: int) -> Update:
        """The master's update over the present votes (None = abstention; none: all zeros)."""

    _update_dtype: ClassVar[torch.dtype] = torch.int8  # what the optimizer is handed

    def update_tensor(self, update: Update, device: torch.device) -> torch.Tensor:
        """The update as the (d,) tensor the optimizer applies, on ``device``."""
        if isinstance(update, PackedVote):
            return unpack_to_torch(update, device, dtype=torch.int8)  # (d,) int8
        return update.to(device=device, dtype=self._update_dtype)

    # --- sharded masters (election/votes/shards.py) ---
    def shard_ranges(self, dim: int, k: int) -> tuple[tuple[int, int], ...]:
        """The k shards' coordinate ranges; one-line ConfigError if this scheme or d cannot."""
        if k != 1 and not self.shardable:
            raise ConfigError(
                f"scheme={self.name!r} cannot be split over master_shards={k}: its float "
                "aggregate is not guaranteed bit-identical slice by slice (use master_shards=1)"
            )
        return shard_ranges(dim, k)

    def slice_vote(self, vote: Vote | None, lo: int, hi: int) -> Vote | None:
        """A vote's coordinates [lo, hi) (a shard's part of it); None (abstention) stays None."""
        if vote is None:
            return None
        if isinstance(vote, PackedVote):
            return slice_vote(vote, lo, hi)
        return vote[lo:hi]

    def slice_update(self, update: Update, lo: int, hi: int) -> Update:
        """An update's coordinates [lo, hi)."""
        if isinstance(update, PackedVote):
            return slice_vote(update, lo, hi)
        return update[lo:hi]

    def join_updates(self, parts: Sequence[Update]) -> Update:
        """The shards' update slices, in shard order, as the whole update."""
        packed = [p for p in parts if isinstance(p, PackedVote)]
        if len(packed) == len(parts):
            return join_votes(packed)
        if packed:
            raise VoteFormatError("update slices mix packed votes and tensors")
        return torch.cat([p for p in parts if isinstance(p, torch.Tensor)])

    # --- the wire codec ---
    @abstractmethod
    def encode_vote(self, vote: Vote) -> bytes: ...

    @abstractmethod
    def decode_vote(self, data: bytes, dim: int) -> Vote:
        """Bytes -> a vote; raises VoteFormatError when they do not fit ``dim``."""

    def check_vote(self, vote: Vote, dim: int) -> Vote:
        """A vote handed over as an object, held to what its bytes would be: the vote, in the
        wire's kind and dtype; raises VoteFormatError when it does not fit ``dim``."""
        return self.decode_vote(self.encode_vote(vote), dim)

    def vote_nbytes(self, vote: Vote) -> int:
        """The payload bytes of a vote on the wire (without any frame header)."""
        return vote.nbytes if isinstance(vote, PackedVote) else len(self.encode_vote(vote))

    def encode_update(self, update: Update) -> bytes:
        if isinstance(update, PackedVote):
            return update.to_bytes()
        return pack_ternary_torch(update.to(torch.int8)).to_bytes()

    def decode_update(self, data: bytes, dim: int) -> Update:
        """Bytes -> an update; raises VoteFormatError when they do not fit ``dim``."""
        return _packed(data, dim, "update")


class _PackedSignScheme(Scheme):
    """Ternary votes, bit-packed on the wire, aggregated by the packed majority circuit."""

    vote_encoding = PACKED_TERNARY

    def as_vote(self, message: torch.Tensor) -> PackedVote:
        return pack_ternary_torch(message)

    def aggregate(self, votes: Sequence[Vote | None], dim: int) -> PackedVote:
        packed = [v if isinstance(v, PackedVote) else None for v in votes]
        return majority(packed, length=dim, quorum=self.quorum)

    def encode_vote(self, vote: Vote) -> bytes:
        packed = vote if isinstance(vote, PackedVote) else pack_ternary_torch(vote)
        return packed.to_bytes()

    def decode_vote(self, data: bytes, dim: int) -> PackedVote:
        return _packed(data, dim, "vote")


def _sum_of_signs(partitions: Sequence[int], signs: Signals | None) -> torch.Tensor:
    """sum_{i in S_j} u_i: (d,) int16."""
    assert signs is not None, "sign schemes need the partition signs"
    total = torch.zeros_like(signs[partitions[0]], dtype=torch.int16)  # (d,) int16
    for i in partitions:
        total += signs[i]
    return total


def _sign_of_all_signs(signs: Signals | None) -> torch.Tensor:
    """mu = sign(sum_i u_i): (d,) int8."""
    assert signs is not None
    return sign_ternary(torch.stack(list(signs.values())).to(torch.int16).sum(dim=0))


class Majority(_PackedSignScheme):
    """Election Coding / SignSGD-MV: E_j = sign(sum_{i in S_j} u_i); the master's majority."""

    name = "majority"
    decoders = ("plain", "quorum")
    uses_partition_signs = True
    accusable = True  # docs/accusation.md: the pattern table is exactly sign(G u)

    def _honest(
        self, partitions: Sequence[int], signals: Signals, signs: Signals | None
    ) -> torch.Tensor:
        return sign_ternary(_sum_of_signs(partitions, signs))  # (d,) int8

    def target(self, signals: Signals, signs: Signals | None) -> torch.Tensor:
        return _sign_of_all_signs(signs)


class SignOfSum(_PackedSignScheme):
    """The paper's --signed_sum: E_j = sign(sum_{i in S_j} x_i) (docs/paper.md)."""

    name = "sign-of-sum"

    def _honest(
        self, partitions: Sequence[int], signals: Signals, signs: Signals | None
    ) -> torch.Tensor:
        return sign_ternary(torch.stack([signals[i] for i in partitions]).sum(dim=0))

    def target(self, signals: Signals, signs: Signals | None) -> torch.Tensor:
        return sign_ternary(torch.stack(list(signals.values())).sum(dim=0))


class _RawScheme(Scheme):
    """Votes sent as raw little-endian vectors, aggregated as tensors."""

    def as_vote(self, message: torch.Tensor) -> torch.Tensor:
        return message

    def encode_vote(self, vote: Vote) -> bytes:
        assert isinstance(vote, torch.Tensor)
        return _raw_bytes(vote, self.vote_encoding)

    def decode_vote(self, data: bytes, dim: int) -> torch.Tensor:
        return _raw_tensor(data, dim, self.vote_encoding, "vote")

    def vote_nbytes(self, vote: Vote) -> int:
        assert isinstance(vote, torch.Tensor)
        return vote.numel() * RAW_DTYPES[self.vote_encoding].itemsize

    @staticmethod
    def _present(votes: Sequence[Vote | None]) -> list[torch.Tensor]:
        return [v for v in votes if isinstance(v, torch.Tensor)]


class SignedSum(_RawScheme):
    """Paper baseline: m_j = sum_{i in S_j} u_i as int16; the master takes sign(sum_j m_j)."""

    name = "signed-sum"
    vote_encoding = "INT16_LE"
    uses_partition_signs = True
    _idle_dtype = torch.int16

    def _honest(
        self, partitions: Sequence[int], signals: Signals, signs: Signals | None
    ) -> torch.Tensor:
        return _sum_of_signs(partitions, signs)  # (d,) int16

    def target(self, signals: Signals, signs: Signals | None) -> torch.Tensor:
        return _sign_of_all_signs(signs)

    def aggregate(self, votes: Sequence[Vote | None], dim: int) -> torch.Tensor:
        present = self._present(votes)
        device = present[0].device if present else None
        total = torch.zeros(dim, dtype=torch.int32, device=device)  # (d,) int32
        for m in present:
            total += m
        return sign_ternary(total)  # (d,) int8


class GradientScheme(_RawScheme):
    """Full-gradient baselines: m_j = mean_{i in S_j} x_i, float32 votes and updates."""

    vote_encoding = "FLOAT32_LE"
    update_encoding = "FLOAT32_LE"
    idle_votes_zero = False
    _update_dtype = torch.float32

    def _honest(
        self, partitions: Sequence[int], signals: Signals, signs: Signals | None
    ) -> torch.Tensor:
        return torch.stack([signals[i] for i in partitions]).mean(dim=0)  # (d,) float32

    def target(self, signals: Signals, signs: Signals | None) -> torch.Tensor:
        return torch.stack(list(signals.values())).mean(dim=0)

    def aggregate(self, votes: Sequence[Vote | None], dim: int) -> torch.Tensor:
        present = self._present(votes)
        if not present:
            return torch.zeros(dim, dtype=torch.float32)
        return self._combine(torch.stack([m.float() for m in present]))  # (n_present, d)

    @abstractmethod
    def _combine(self, stacked: torch.Tensor) -> torch.Tensor: ...

    def encode_update(self, update: Update) -> bytes:
        assert isinstance(update, torch.Tensor)
        return _raw_bytes(update, self.update_encoding)

    def decode_update(self, data: bytes, dim: int) -> Update:
        return _raw_tensor(data, dim, self.update_encoding, "update")


class Median(GradientScheme):
    """Paper baseline: the coordinate-wise median of the workers' mean gradients."""

    name = "median"

    def _combine(self, stacked: torch.Tensor) -> torch.Tensor:
        return stacked.median(dim=0).values


class Sgd(GradientScheme):
    """Reference: the mean of the workers' mean gradients (plain distributed SGD)."""

    name = "sgd"
    shardable = False  # a float mean: its summation order is torch's, not per coordinate

    def _combine(self, stacked: torch.Tensor) -> torch.Tensor:
        return stacked.mean(dim=0)


SCHEMES: dict[str, type[Scheme]] = {
    s.name: s for s in (Majority, SignedSum, SignOfSum, Median, Sgd)
}


BYZFL_PREFIX = "byzfl:"  # --scheme byzfl:NAME, a ByzFL aggregator (training/byzfl_scheme.py)


def scheme_class(name: str) -> type[Scheme]:
    """The registered scheme called ``name`` (or ``byzfl:NAME``); ConfigError otherwise."""
    if name.startswith(BYZFL_PREFIX):
        from election.training.byzfl_scheme import byzfl_scheme_class  # imports this module

        return byzfl_scheme_class(name.removeprefix(BYZFL_PREFIX))
    if name not in SCHEMES:
        raise ConfigError(
            f"scheme={name!r} must be one of {tuple(SCHEMES)} or {BYZFL_PREFIX}AGGREGATOR"
        )
    return SCHEMES[name]


def scheme_for(cfg: TrainConfig) -> Scheme:
    """The configuration's scheme, bound to its decoder and b (done once per node, at setup)."""
    return scheme_class(cfg.scheme)(quorum=cfg.quorum_q, b=cfg.b)
