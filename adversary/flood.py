"""Stalled uploads for load tests: many SubmitVote streams that never finish.

    python -m adversary.flood --master 127.0.0.1:50051 --streams 500 --connections 10

Opens ``--streams`` SubmitVote streams spread over ``--connections`` separate connections,
at once, and never completes any of them. Half are ``header`` streams (a vote header without a
token, then silence: what a client that hopes the token is checked late sends), half are
``silent`` streams (not even a first message). Bounded and self-stopping: every stream has a
client deadline of ``--hold`` seconds, none is reopened, and the process exits when all have
ended. Prints one JSON line: how many streams ended with each (status code, reason told).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from typing import Any

import grpc

from wire.errors import told_reason
from wire.gen.election.v1 import election_pb2 as pb
from wire.gen.election.v1 import election_pb2_grpc as pb_grpc

OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]  # one TCP connection per channel
DECLARED_BYTES = 1 << 20  # what a header stream claims it will send


async def one_stream(stub: pb_grpc.ElectionStub, kind: str, hold_s: float) -> tuple[str, str]:
    call = stub.SubmitVote(timeout=hold_s)
    try:
        if kind == "header":
            header = pb.VoteHeader(
                run_id="flood",
                round=0,
                slot=0,
                payload=pb.PayloadHeader(
                    encoding=pb.PACKED_TERNARY,
                    length=8 * DECLARED_BYTES,
                    sign_nbytes=DECLARED_BYTES,
                    total_nbytes=DECLARED_BYTES,
                ),
            )
            with contextlib.suppress(grpc.aio.AioRpcError):  # the call may be refused already
                await call.write(pb.VoteChunk(header=header))
        await call  # never half-closed: waits for the master's answer or the deadline
        return "OK", ""
    except grpc.aio.AioRpcError as exc:
        code = exc.code().name
        reason = told_reason(code, exc.details())
        if reason == "unknown":
            print(f"flood: {kind} stream: {code}: {exc.details()}"[:300], file=sys.stderr)
        return code, reason


async def flood(target: str, streams: int, connections: int, hold_s: float) -> dict[str, Any]:
    channels = [
        grpc.aio.insecure_channel(target, options=OWN_CONNECTION) for _ in range(connections)
    ]
    stubs = [pb_grpc.ElectionStub(c) for c in channels]
    start = time.monotonic()
    tasks = [
        one_stream(stubs[k % connections], "header" if k % 2 == 0 else "silent", hold_s)
        for k in range(streams)
    ]
    results = await asyncio.gather(*tasks)
    for channel in channels:
        await channel.close()
    answers = Counter(f"{code}:{reason}" for code, reason in results)
    return {"streams": streams, "seconds": time.monotonic() - start, "answers": dict(answers)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adversary.flood", description=__doc__)
    parser.add_argument("--master", required=True, help="host:port of the master")
    parser.add_argument("--streams", type=int, default=500, help="streams to open at once")
    parser.add_argument("--connections", type=int, default=10, help="connections to spread over")
    parser.add_argument("--hold", type=float, default=15.0, help="client deadline per stream, s")
    args = parser.parse_args(argv)
    if args.streams < 1 or args.connections < 1 or not 0 < args.hold < 3600:
        parser.error("--streams and --connections must be >= 1, --hold in (0, 3600)")
    result = asyncio.run(flood(args.master, args.streams, args.connections, args.hold))
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
