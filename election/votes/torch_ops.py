"""Ternary signs and packing on the tensor's device: only packed bytes cross to the host.

docs/design.md section 8 ("GPU path: signs packed on the device; only packed bytes cross PCIe").
The layout is the one of :mod:`election.votes.packed`: coordinate k in byte k // 8, bit k % 8
(LSB first), sign bit 1 = negative, zero coordinates as a bit-plane or uint32 indices, whichever
is smaller. Packing a group of 8 bits is the weighted sum sum_b 2**b * bit_b over b = 0..7.
"""

from __future__ import annotations

import numpy as np
import torch

from election.errors import VoteFormatError
from election.votes.packed import PackedVote, ZeroKind, sign_nbytes

_BIT_SHIFTS = torch.arange(8, dtype=torch.uint8)  # (8,) uint8: bit b of a byte has weight 2**b


def sign_ternary(t: torch.Tensor) -> torch.Tensor:
    """sign(t) as int8 in {-1, 0, +1}, with sign(0) = 0 (and NaN -> 0), on t's device."""
    return (t > 0).to(torch.int8) - (t < 0).to(torch.int8)


def _pack_bits(bits: torch.Tensor) -> np.ndarray:
    """(d,) bool on any device -> (ceil(d/8),) uint8 host array, little bit order, zero padding."""
    d = bits.numel()
    padded = torch.zeros(sign_nbytes(d) * 8, dtype=torch.uint8, device=bits.device)
    padded[:d] = bits
    shifts = _BIT_SHIFTS.to(bits.device)
    packed = (padded.view(-1, 8) << shifts).sum(dim=1, dtype=torch.uint8)  # (ceil(d/8),) uint8
    return packed.cpu().numpy()


def pack_ternary_torch(signs: torch.Tensor) -> PackedVote:
    """Pack a (d,) tensor with values in {-1, 0, +1}; bit-identical to ``pack_ternary``."""
    if signs.ndim != 1 or signs.numel() == 0:
        raise VoteFormatError(
            f"signs must be a non-empty 1-D tensor, got shape {tuple(signs.shape)}"
        )
    if signs.is_floating_point() or signs.is_complex() or signs.dtype == torch.bool:
        raise VoteFormatError(
            f"signs must have an integer dtype with values -1/0/1, got {signs.dtype}"
        )
    if bool(((signs < -1) | (signs > 1)).any()):
        raise VoteFormatError("signs must lie in {-1, 0, 1}")
    d = signs.numel()
    sign_bits = _pack_bits(signs < 0)
    zero = signs == 0  # (d,) bool on the device
    zero_count = int(zero.sum())
    if zero_count == 0:
        return PackedVote(length=d, sign_bits=sign_bits)
    if 4 * zero_count < sign_nbytes(d):
        wide = d > 2**31  # int32 (4 bytes per zero across PCIe) unless an index needs more
        idx_t = torch.nonzero(zero).flatten().to(torch.int64 if wide else torch.int32)
        idx = idx_t.cpu().numpy()  # (zeros,) int32 or int64
        data = idx.astype("<u4").view(np.uint8)
        return PackedVote(length=d, sign_bits=sign_bits, zero_kind=ZeroKind.INDICES, zero_data=data)
    mask = _pack_bits(zero)
    return PackedVote(length=d, sign_bits=sign_bits, zero_kind=ZeroKind.MASK, zero_data=mask)


def _unpack_bits(plane: np.ndarray, length: int, device: torch.device | str) -> torch.Tensor:
    """(ceil(d/8),) uint8 host plane -> (d,) bool tensor on ``device``."""
    packed = torch.from_numpy(np.array(plane, dtype=np.uint8)).to(device)
    shifts = _BIT_SHIFTS.to(packed.device)
    bits = (packed.unsqueeze(1) >> shifts) & 1  # (ceil(d/8), 8) uint8
    return bits.flatten()[:length].bool()


def unpack_to_torch(
    vote: PackedVote, device: torch.device | str, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The vote's values -1/0/+1 as a (d,) tensor of ``dtype``, unpacked on ``device``."""
    neg = _unpack_bits(vote.sign_bits, vote.length, device)
    out = 1 - 2 * neg.to(dtype)  # (d,) dtype
    if vote.zero_kind == ZeroKind.MASK:
        out.masked_fill_(_unpack_bits(vote.zero_data, vote.length, device), 0)
    elif vote.zero_kind == ZeroKind.INDICES:
        idx = torch.from_numpy(vote.zero_indices()).to(out.device)
        out[idx] = 0
    return out
