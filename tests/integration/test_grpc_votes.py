"""Every valid vote encoding is accepted, up to the limit the proto states (real master, port 0).

docs/vote_layout.md: "receivers accept any valid encoding". A non-canonical ZERO_INDICES vote
with more zeros than two bit-planes would hold was refused (RESOURCE_EXHAUSTED); the limit is
now that of the largest valid vote, ceil(d/8) + 4 d bytes, as the proto says.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest

from election.votes import PackedVote, ZeroKind
from master.cluster import REPO_ROOT
from tests.integration.grpc_helpers import LiveMaster, live_master, small_config
from wire import serde
from wire.gen.election.v1 import election_pb2 as pb
from wire.limits import max_packed_nbytes
from wire.messages import Credentials, Vote


def indices_vote(d: int, zeros: np.ndarray) -> PackedVote:
    """Signs -1 on even coordinates, 0 on ``zeros``, listed as uint32 indices (non-canonical)."""
    values = np.where(np.arange(d) % 2 == 0, -1, 1).astype(np.int8)  # (d,) int8
    values[zeros] = 0
    bits = np.packbits(values < 0, bitorder="little")
    idx = np.asarray(zeros, dtype="<u4").view(np.uint8)
    return PackedVote(length=d, sign_bits=bits, zero_kind=ZeroKind.INDICES, zero_data=idx)


def submit(live: LiveMaster, slot: int, payload: PackedVote, total: int | None = None) -> int:
    cred = Credentials("live-run", slot, live.token(slot))
    chunks = list(serde.vote_to_chunks(Vote(cred, 0, payload)))
    if total is not None:
        chunks[0].header.payload.total_nbytes = total
    return int(live.stub().SubmitVote(iter(chunks), timeout=10).accepted_votes)


def test_any_valid_encoding_up_to_the_stated_limit_is_accepted(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, steps=2)
    with live_master(cfg, tmp_path, startup_timeout_s=0.0, round_deadline_s=0.2) as live:
        d = live.service.dim
        plane = (d + 7) // 8
        many = np.arange(0, d, 3)[: plane // 2 + 1]  # 4 * zeros > two bit-planes
        vote = indices_vote(d, many)
        assert vote.nbytes > 2 * plane  # what the old limit refused
        assert submit(live, 0, vote) == 1
        everything = indices_vote(d, np.arange(d))  # the largest valid vote
        assert everything.nbytes == max_packed_nbytes(d)
        assert submit(live, 1, everything) == 2
        with pytest.raises(grpc.RpcError) as err:
            submit(live, 2, indices_vote(d, many), total=max_packed_nbytes(d) + 4)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert (err.value.details() or "").startswith("oversized: ")
        stored = live.service.rounds.collect(0)
        assert stored[0] == vote and stored[1] == everything and stored[2] is None


def test_the_proto_and_the_layout_doc_state_the_same_limit() -> None:
    proto = (REPO_ROOT / "proto/election/v1/election.proto").read_text()
    layout = (REPO_ROOT / "docs/vote_layout.md").read_text()
    assert "PACKED_TERNARY: ceil(d/8) + 4 * d bytes" in proto
    assert "ceil(d/8) + 4 * d bytes" in layout
    assert int(ZeroKind.INDICES) == pb.ZERO_INDICES
