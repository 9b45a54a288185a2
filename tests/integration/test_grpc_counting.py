"""Each refused call is counted once, under the reason its client was told (real master, port 0).

Besides the master's own answers this covers the uploads gRPC itself ends: a message over the
8 MiB limit (RESOURCE_EXHAUSTED) and an upload the client cancels (CANCELLED), both counted as
``stream_cancelled`` since the server cannot tell them apart, and an upload whose deadline
passes (DEADLINE_EXCEEDED), plus bytes that are not protobuf (INVALID_ARGUMENT undecodable,
answered by the master instead of gRPC's INTERNAL/UNKNOWN) and an upload that stalls past the
master's idle bound (DEADLINE_EXCEEDED slow_stream).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np

from election.votes import pack_ternary
from tests.integration.grpc_helpers import LiveMaster, live_master, small_config
from wire import serde
from wire.errors import told_reason
from wire.gen.election.v1 import election_pb2 as pb
from wire.gen.election.v1 import election_pb2_grpc as pb_grpc
from wire.messages import Credentials, Vote
from wire.options import MAX_MESSAGE_BYTES, MiB, channel_options

IDLE_S = 1.0  # the master's upload idle bound in this test
REPEAT = 3  # copies of each kind of refused call
GARBAGE = b"\xff\xff\xff\xff\x0f"  # not a protobuf message of any type here


def header_chunk(live: LiveMaster, slot: int = 0) -> pb.VoteChunk:
    values = np.ones(live.service.dim, dtype=np.int8)
    cred = Credentials("live-run", slot, live.token(slot))
    first, *_ = serde.vote_to_chunks(Vote(cred, 0, pack_ternary(values)))
    first.data = first.data[:1]  # the rest never comes
    return first


def stalled(first: pb.VoteChunk, release: threading.Event) -> Iterator[pb.VoteChunk]:
    yield first
    release.wait(30.0)


def told(call) -> str:  # type: ignore[no-untyped-def]
    try:
        result = call()
        if not isinstance(result, pb.VoteAck | pb.JoinResponse | pb.StatusResponse):
            list(result)
    except grpc.RpcError as exc:
        return told_reason(exc.code().name, exc.details())
    return "OK"


def test_each_refusal_is_counted_once_under_the_reason_the_client_saw(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, steps=2)
    with live_master(cfg, tmp_path, upload_idle_timeout_s=IDLE_S) as live:
        big = grpc.insecure_channel(
            live.target, options=channel_options(max_message_bytes=MAX_MESSAGE_BYTES + 2 * MiB)
        )
        stub, big_stub = live.stub(), pb_grpc.ElectionStub(big)
        raw = {
            m: (big.stream_unary if m == "SubmitVote" else big.unary_stream)(
                f"/election.v1.Election/{m}"
            )
            for m in ("SubmitVote", "GetUpdate", "GetSnapshot")
        }
        raw_unary = {
            m: big.unary_unary(f"/election.v1.Election/{m}") for m in ("Join", "GetStatus")
        }
        seen: Counter[str] = Counter()
        release = threading.Event()
        for _ in range(REPEAT):
            over = header_chunk(live)
            over.data = b"\0" * (MAX_MESSAGE_BYTES + MiB)  # one message over gRPC's limit
            seen[told(lambda o=over: big_stub.SubmitVote(iter([o]), timeout=10))] += 1
            seen[told(lambda: raw["SubmitVote"](iter([GARBAGE]), timeout=10))] += 1
            for method in ("GetUpdate", "GetSnapshot"):
                seen[told(lambda m=method: raw[m](GARBAGE, timeout=10))] += 1
            for method in ("Join", "GetStatus"):
                seen[told(lambda m=method: raw_unary[m](GARBAGE, timeout=10))] += 1
            # a client deadline in the middle of an upload
            first = header_chunk(live)
            seen[told(lambda f=first: stub.SubmitVote(stalled(f, release), timeout=0.5))] += 1
            # an upload the client cancels
            future = stub.SubmitVote.future(stalled(header_chunk(live), release), timeout=10)
            time.sleep(0.2)
            future.cancel()
            seen["stream_cancelled"] += 1
            # an upload that stalls past the master's idle bound
            first = header_chunk(live)
            seen[told(lambda f=first: stub.SubmitVote(stalled(f, release), timeout=10))] += 1
            # a client that half-closes before sending the declared bytes
            seen[told(lambda: stub.SubmitVote(iter([header_chunk(live)]), timeout=10))] += 1
        time.sleep(0.5)
        release.set()
        time.sleep(0.5)
        counted = Counter(
            {
                k[len("rejected_") :]: int(v)
                for k, v in live.service.metrics.snapshot().items()
                if k.startswith("rejected_")
            }
        )
        counted = +counted  # drop zeros
        big.close()
        logged = Counter(e["reason"] for e in live.events("rejected"))
    assert seen == Counter(
        {
            "stream_cancelled": 2 * REPEAT,  # over the limit, and cancelled by the client
            "undecodable": 5 * REPEAT,
            "deadline_exceeded": REPEAT,
            "slow_stream": REPEAT,
            "malformed": REPEAT,
        }
    )
    assert counted == seen
    assert logged == seen
