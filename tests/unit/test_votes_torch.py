"""The torch packer and unpacker agree bit for bit with the numpy layout (on CPU and, if
available, on CUDA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from election.errors import VoteFormatError
from election.votes import ZeroKind, pack_ternary, unpack_ternary
from election.votes.torch_ops import pack_ternary_torch, sign_ternary, unpack_to_torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def random_signs(seed: int, d: int, zeros_frac: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=d)
    signs[rng.random(d) < zeros_frac] = 0
    return signs


def test_sign_ternary_maps_zero_to_zero() -> None:
    t = torch.tensor([-2.5, -0.0, 0.0, 1e-30, float("nan"), 3.0])
    out = sign_ternary(t)
    assert out.dtype == torch.int8
    assert out.tolist() == [-1, 0, 0, 1, 0, 1]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("d", [1, 7, 8, 9, 63, 64, 65, 1001, 100_003])
@pytest.mark.parametrize("zeros_frac", [0.0, 0.005, 0.5, 1.0])
def test_torch_packer_is_bit_identical_to_numpy_packer(
    device: str, d: int, zeros_frac: float
) -> None:
    signs = random_signs(d, d, zeros_frac)
    expected = pack_ternary(signs)
    got = pack_ternary_torch(torch.from_numpy(signs).to(device))
    assert got == expected
    assert got.zero_kind == expected.zero_kind


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", [ZeroKind.NONE, ZeroKind.INDICES, ZeroKind.MASK])
def test_unpack_to_torch_gives_the_numpy_values(device: str, kind: ZeroKind) -> None:
    zeros_frac = {ZeroKind.NONE: 0.0, ZeroKind.INDICES: 0.005, ZeroKind.MASK: 0.4}[kind]
    vote = pack_ternary(random_signs(5, 10_007, zeros_frac))
    assert vote.zero_kind == kind
    for dtype in (torch.float32, torch.int8):
        out = unpack_to_torch(vote, device, dtype=dtype)
        assert out.dtype == dtype and out.device.type == device
        np.testing.assert_array_equal(out.cpu().numpy().astype(np.int8), unpack_ternary(vote))


def test_torch_packer_rejects_non_ternary_tensors() -> None:
    with pytest.raises(VoteFormatError):
        pack_ternary_torch(torch.tensor([0, 2], dtype=torch.int8))
    with pytest.raises(VoteFormatError):
        pack_ternary_torch(torch.tensor([0.5, 1.0]))
    with pytest.raises(VoteFormatError):
        pack_ternary_torch(torch.ones(2, 2, dtype=torch.int8))
