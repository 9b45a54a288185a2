"""Ternary sign votes: bit-packed layout, the packed majority and the naive references.

See :mod:`election.votes.packed` for the wire layout and :mod:`election.votes.majority` for the
bit-sliced aggregation (run by the optional C kernel ``_planes`` or by numpy, chosen in
:mod:`election.votes.native`). The torch helpers live in :mod:`election.votes.torch_ops` (imported
lazily here so that the numpy-only parts load without torch).
"""

from __future__ import annotations

from typing import Any

from election.votes.decoders import DECODERS, resolve_quorum
from election.votes.majority import majority
from election.votes.packed import PackedVote, ZeroKind, pack_ternary, unpack_ternary
from election.votes.reference import (
    local_majority,
    majority_naive,
    majority_ternary,
    quorum_ternary,
)

_TORCH_NAMES = ("sign_ternary", "pack_ternary_torch", "unpack_to_torch")

__all__ = [
    "DECODERS",
    "PackedVote",
    "ZeroKind",
    "local_majority",
    "majority",
    "majority_naive",
    "majority_ternary",
    "pack_ternary",
    "quorum_ternary",
    "resolve_quorum",
    "unpack_ternary",
    *_TORCH_NAMES,
]


def __getattr__(name: str) -> Any:
    if name in _TORCH_NAMES:
        from election.votes import torch_ops

        return getattr(torch_ops, name)
    raise AttributeError(f"module 'election.votes' has no attribute {name!r}")
