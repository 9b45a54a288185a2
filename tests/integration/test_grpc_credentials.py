"""Credentials and string fields from a hostile peer, against a real master on 127.0.0.1:0.

Every malformed credential (non-ASCII, wrong length, upper-case, NUL bytes, empty, huge) is
UNAUTHENTICATED on every RPC that carries one, counted once and logged once; credentials are
checked before anything else (a round past the end or a wrong run id reveals nothing to a
caller without a valid token); every string field is bounded (longer: INVALID_ARGUMENT) and
nothing a client sends reaches a log line unescaped or unbounded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import pytest

from election.votes import pack_ternary
from tests.integration.grpc_helpers import LiveMaster, live_master, small_config
from wire import serde
from wire.gen.election.v1 import election_pb2 as pb
from wire.limits import MAX_NAME_CHARS, MAX_RUN_ID_CHARS
from wire.messages import Credentials, Vote

BAD_TOKENS = {
    "non_ascii": "tökén" * 12 + "éèêë",  # 64 characters, none of them hex
    "non_ascii_short": "ü",
    "upper_case_hex": "AB" * 32,
    "nul_bytes": "\x00" * 64,
    "one_short": "a" * 63,
    "one_long": "a" * 65,
    "empty": "",
    "huge": "f" * 100_000,
}
RPC_TIMEOUT_S = 10.0


def dense_vote(live: LiveMaster, cred: Credentials, rnd: int = 0) -> list[pb.VoteChunk]:
    values = np.where(np.arange(live.service.dim) % 3 == 0, -1, 1).astype(np.int8)  # (d,) int8
    return list(serde.vote_to_chunks(Vote(cred, rnd, pack_ternary(values))))


def call_code(fn: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    try:
        result = fn()
        if hasattr(result, "__iter__") and not isinstance(result, pb.VoteAck):
            list(result)  # type: ignore[call-overload]
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


def rpcs(live: LiveMaster, token: str, *, run_id: str = "live-run", rnd: int = 0):  # type: ignore[no-untyped-def]
    stub = live.stub()
    cred = Credentials(run_id, 0, token)
    return {
        "SubmitVote": lambda: stub.SubmitVote(
            iter(dense_vote(live, cred, rnd)), timeout=RPC_TIMEOUT_S
        ),
        "GetUpdate": lambda: stub.GetUpdate(
            pb.UpdateRequest(run_id=run_id, round=rnd, slot=0, token=token),
            timeout=RPC_TIMEOUT_S,
        ),
        "GetSnapshot": lambda: stub.GetSnapshot(
            pb.SnapshotRequest(run_id=run_id, slot=0, token=token), timeout=RPC_TIMEOUT_S
        ),
    }


def test_every_malformed_token_is_unauthenticated_counted_and_logged_on_every_rpc(
    tmp_path: Path,
) -> None:
    with live_master(small_config(tmp_path, steps=2), tmp_path) as live:
        stub = live.stub()
        sent = 0
        for name, token in BAD_TOKENS.items():
            for method, call in rpcs(live, token).items():
                code, detail = call_code(call)
                assert code == grpc.StatusCode.UNAUTHENTICATED, (name, method, code, detail)
                assert detail.startswith("unauthenticated: "), detail
                sent += 1
            code, detail = call_code(
                lambda t=token: stub.Join(
                    pb.JoinRequest(slot=0, worker_name="w", join_secret=t), timeout=RPC_TIMEOUT_S
                )
            )
            assert code == grpc.StatusCode.UNAUTHENTICATED, (name, "Join", code, detail)
            sent += 1
        assert live.rejected("unauthenticated") == sent
        logged = [e for e in live.events("rejected") if e["reason"] == "unauthenticated"]
        assert len(logged) == sent
        assert {e["method"] for e in logged} == {"SubmitVote", "GetUpdate", "GetSnapshot", "Join"}
        assert sum(v for k, v in live.service.metrics.snapshot().items() if "rejected" in k) == sent


def test_credentials_are_checked_before_the_round_and_the_run_id(tmp_path: Path) -> None:
    with live_master(small_config(tmp_path, steps=2), tmp_path) as live:
        stub = live.stub()
        past_end = pb.UpdateRequest(run_id="live-run", round=99, slot=0, token="")
        code, _ = call_code(lambda: stub.GetUpdate(past_end, timeout=RPC_TIMEOUT_S))
        assert code == grpc.StatusCode.UNAUTHENTICATED  # not "finished"
        for method, call in rpcs(live, "", run_id="another-run").items():
            assert call_code(call)[0] == grpc.StatusCode.UNAUTHENTICATED, method
        for method, call in rpcs(live, "", rnd=7).items():  # a future round, no token
            if method != "GetSnapshot":
                assert call_code(call)[0] == grpc.StatusCode.UNAUTHENTICATED, method
        # the same requests with slot 0's real token get the state-dependent answers
        past_end.token = live.token(0)
        code, detail = call_code(lambda: stub.GetUpdate(past_end, timeout=RPC_TIMEOUT_S))
        assert code == grpc.StatusCode.FAILED_PRECONDITION and detail.startswith("finished: ")
        for method, call in rpcs(live, live.token(0), run_id="another-run").items():
            code, detail = call_code(call)
            assert code == grpc.StatusCode.FAILED_PRECONDITION, method
            assert detail.startswith("wrong_run: "), detail


def test_string_fields_are_bounded_and_logged_escaped(tmp_path: Path) -> None:
    with live_master(small_config(tmp_path, steps=2), tmp_path) as live:
        stub = live.stub()
        huge = "n" * 256 * 1024
        for name in (huge, "x" * (MAX_NAME_CHARS + 1)):
            with pytest.raises(grpc.RpcError) as err:
                stub.Join(
                    pb.JoinRequest(slot=0, worker_name=name, join_secret=live.join_secret),
                    timeout=RPC_TIMEOUT_S,
                )
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert (err.value.details() or "").startswith("field_too_long: ")
        hostile = '\x1b[2J\r\nfake {"event": "joined"}\u202e' + "é" * 100
        assert len(hostile) <= MAX_NAME_CHARS
        stub.Join(
            pb.JoinRequest(slot=1, worker_name=hostile, join_secret=live.join_secret),
            timeout=RPC_TIMEOUT_S,
        )
        long_run = "r" * (MAX_RUN_ID_CHARS + 1)
        for method, call in rpcs(live, live.token(0), run_id=long_run).items():
            code, detail = call_code(call)
            assert code == grpc.StatusCode.INVALID_ARGUMENT, method
            assert detail.startswith("field_too_long: ") and long_run not in detail
        assert live.rejected("field_too_long") == 5
        lines = live.log_lines()
        assert all(len(line) < 2048 and line.isascii() for line in lines)
        assert all("\x1b" not in line and "\r" not in line for line in lines)
        joined = [json.loads(line) for line in lines if '"joined"' in line]
        assert [e["worker"] for e in joined if e["event"] == "joined"] == [hostile]
