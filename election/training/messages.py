"""Bytes for the messages of one round, per scheme (the payload inside any transport's frame).

    majority    vote/update: :meth:`PackedVote.to_bytes` (1 bit per coordinate + zero encoding)
    sign-of-sum vote/update: packed ternary, as majority
    signed-sum  vote: int16 little-endian (d,); update: packed ternary like majority
    median/sgd  vote and update: float32 little-endian (d,) (full-gradient baselines only)

Decoding checks lengths and raises :class:`VoteFormatError` on a mismatch.
"""

from __future__ import annotations

import numpy as np
import torch

from election.errors import VoteFormatError
from election.votes import PackedVote, pack_ternary_torch, unpack_to_torch

_VOTE_DTYPES: dict[str, np.dtype] = {
    "signed-sum": np.dtype("<i2"),
    "median": np.dtype("<f4"),
    "sgd": np.dtype("<f4"),
}


PACKED_VOTES = ("majority", "sign-of-sum")  # schemes whose votes are packed ternary
PACKED_UPDATES = ("majority", "signed-sum", "sign-of-sum")  # updates packed ternary too


def encode_vote(scheme: str, vote: torch.Tensor) -> bytes:
    if scheme in PACKED_VOTES:
        return pack_ternary_torch(vote).to_bytes()
    return vote.detach().cpu().numpy().astype(_VOTE_DTYPES[scheme]).tobytes()


def decode_vote(scheme: str, data: bytes, dim: int) -> PackedVote | torch.Tensor:
    """A packed vote stays packed (the master aggregates it packed); others become tensors."""
    if scheme in PACKED_VOTES:
        vote = PackedVote.from_bytes(data)
        if vote.length != dim:
            raise VoteFormatError(f"vote has {vote.length} coordinates, expected {dim}")
        return vote
    dtype = _VOTE_DTYPES[scheme]
    if len(data) != dim * dtype.itemsize:
        raise VoteFormatError(f"vote has {len(data)} bytes, expected {dim * dtype.itemsize}")
    return torch.from_numpy(np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("=")))


def encode_update(scheme: str, update: torch.Tensor | PackedVote) -> bytes:
    if isinstance(update, PackedVote):
        return update.to_bytes()
    if scheme in PACKED_UPDATES:
        return pack_ternary_torch(update.to(torch.int8)).to_bytes()
    return update.detach().cpu().numpy().astype("<f4").tobytes()


def decode_update(scheme: str, data: bytes, dim: int, device: torch.device) -> torch.Tensor:
    if scheme in PACKED_UPDATES:
        packed = PackedVote.from_bytes(data)
        if packed.length != dim:
            raise VoteFormatError(f"update has {packed.length} coordinates, expected {dim}")
        return unpack_to_torch(packed, device, dtype=torch.int8)
    if len(data) != dim * 4:
        raise VoteFormatError(f"update has {len(data)} bytes, expected {dim * 4}")
    return torch.from_numpy(np.frombuffer(data, dtype="<f4").copy()).to(device)
