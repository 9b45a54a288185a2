"""The processes of ``election bench cluster``, one per network namespace (``python -m
bench.cluster_node ROLE ...``), driven by the controller through one JSON line per step.

    master   the real master path of ``bench.grpc`` (BenchServicer over RoundState: run id,
             token, round and length checks, the packed majority, one update shared by every
             worker's stream) for the coordinates [lo, hi) it owns; prints its port and the slot
             tokens, then answers ``cpu`` with its process CPU seconds (all threads)
    worker   one slot: a random dense vote built before the clock starts; on ``go R`` it
             submits each master shard its slice of the vote (in parallel, one thread per
             shard), fetches each shard's update slice in full and joins the k slices into
             the update (:func:`election.votes.shards.join_votes`). With ``--segments S``
             each shard is S master processes on the shard's node, one per segment of its
             coordinates: the worker submits the segments in order while another thread
             fetches their updates in order, so the shard link's votes in and updates out
             overlap (a pipelined round)
    gloo     one torch.distributed gloo rank: on ``go fp32|fp16`` one ``all_reduce`` (sum) of d
             values of that dtype
    sink / source   one TCP stream for a bounded time: the throughput the link really gives

Times are CLOCK_MONOTONIC seconds, one clock for every process of the machine (namespaces do
not change it), so the controller compares its release time with each node's finish time.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

PROBE_CHUNK = 1 << 20  # bytes per send/recv of the link probe
CONNECT_TIMEOUT_S = 120.0  # a node must reach its peer within this (many processes start)
GLOO_TIMEOUT_S = 300.0  # torch.distributed collective/rendezvous timeout
FIRST_ROUND_WAIT_S = 600.0  # a master shard's round 0 waits this long for the n workers to start


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def commands() -> Any:
    """stdin lines, stripped; ends when the controller closes the pipe or says ``quit``."""
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "quit":
            return
        yield cmd


@dataclass(frozen=True)
class Shard:
    """A master owning coordinates [lo, hi) at host:port (election.votes.shards.shard_ranges)."""

    host: str
    port: int
    lo: int
    hi: int

    @staticmethod
    def parse(text: str) -> Shard:
        host, port, lo, hi = text.rsplit(":", 3)
        return Shard(host, int(port), int(lo), int(hi))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}:{self.lo}:{self.hi}"


def run_master(args: argparse.Namespace) -> None:
    from bench.grpc import RUN_ID, bench_state, master_rounds, start_bench_server
    from wire.allocator import tune_allocator
    from wire.security import SlotTokens, new_secret

    tune_allocator(os.environ)  # as the master process does
    tokens = SlotTokens(new_secret(), RUN_ID, args.n)
    # round 0 opens now, but the controller releases the workers only once all n started
    state = bench_state(args.n, args.hi - args.lo, args.rounds, tokens, FIRST_ROUND_WAIT_S)
    server, port = start_bench_server(state, args.n, args.hi - args.lo, args.bind)
    aggregate_ms: list[float] = []
    errors: list[str] = []

    def rounds() -> None:
        try:
            master_rounds(state, args.n, range(args.rounds), aggregate_ms)
        except Exception as exc:  # reported to the controller on its next question
            errors.append(repr(exc))

    threading.Thread(target=rounds, daemon=True).start()
    emit({"port": port, "tokens": [tokens.issue(s) for s in range(args.n)]})
    for cmd in commands():
        if cmd == "cpu":
            emit({"cpu_s": time.process_time(), "aggregate_ms": aggregate_ms, "errors": errors})
    state.close()
    server.stop(grace=1).wait()


def shard_vote(vote: Any, lo: int, hi: int) -> Any:
    """The vote's coordinates [lo, hi) as a packed vote (election.votes.shards.slice_vote)."""
    from election.votes.shards import slice_vote

    return slice_vote(vote, lo, hi)


def run_worker(args: argparse.Namespace) -> None:
    import grpc
    import numpy as np

    from bench.grpc import RUN_ID, fetch_update, random_dense_vote, vote_and_fetch
    from election.transport.base import ROUND_DEADLINE_S
    from election.votes import PackedVote
    from election.votes.shards import join_votes
    from wire import serde
    from wire.gen.election.v1 import election_pb2_grpc as pb_grpc
    from wire.messages import Credentials, Vote
    from wire.options import channel_options

    shards = [Shard.parse(s) for s in args.shard]
    if len(args.token) != len(shards):
        raise SystemExit(f"{len(shards)} shards need {len(shards)} --token, got {len(args.token)}")
    vote = random_dense_vote(np.random.default_rng(args.seed), args.d)
    parts = [shard_vote(vote, s.lo, s.hi) for s in shards]
    channels = [
        grpc.insecure_channel(f"{s.host}:{s.port}", options=channel_options()) for s in shards
    ]
    for channel in channels:
        grpc.channel_ready_future(channel).result(timeout=CONNECT_TIMEOUT_S)
    stubs = [pb_grpc.ElectionStub(c) for c in channels]
    creds = [Credentials(RUN_ID, args.slot, token) for token in args.token]  # one per shard
    segments = args.segments
    if len(shards) % segments:
        raise SystemExit(f"{len(shards)} --shard entries are not whole groups of {segments}")
    pool = ThreadPoolExecutor(max_workers=2 * len(shards))

    def pipelined(first: int, r: int, chunks: list[Any]) -> list[Any]:
        """Segments first..first+S-1 of one shard: submitted in order, their updates fetched
        in order by a second thread meanwhile; the S update slices."""
        group = range(first, first + segments)
        fetched = pool.submit(
            lambda: [fetch_update(stubs[i], creds[i], r, parts[i].length) for i in group]
        )
        for i in group:
            stubs[i].SubmitVote(iter(chunks[i]), timeout=ROUND_DEADLINE_S)
        return list(fetched.result(timeout=ROUND_DEADLINE_S))

    emit({"ready": True})
    for cmd in commands():
        r = int(cmd.split()[1])  # "go R"
        votes = [Vote(c, r, p) for c, p in zip(creds, parts, strict=True)]
        chunks = [list(serde.vote_to_chunks(v)) for v in votes]
        go = now()
        if segments > 1:  # every shard's segments pipelined, the shards in parallel
            groups = pool.map(
                pipelined,
                range(0, len(shards), segments),
                [r] * (len(shards) // segments),
                [chunks] * (len(shards) // segments),
            )
            updates = [u for group in groups for u in group]
            join_votes([u.payload for u in updates if isinstance(u.payload, PackedVote)])
        elif len(shards) == 1:
            vote_and_fetch(stubs[0], creds[0], r, chunks[0], parts[0].length)
        else:  # every shard's slice in parallel; an RPC error propagates
            slices = pool.map(
                vote_and_fetch, stubs, creds, [r] * len(shards), chunks, [p.length for p in parts]
            )
            join_votes([u.payload for u in slices if isinstance(u.payload, PackedVote)])
        emit({"round": r, "t_go": go, "t_end": now()})
    for channel in channels:
        channel.close()


def run_gloo(args: argparse.Namespace) -> None:
    from datetime import timedelta

    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=args.init,
        rank=args.rank,
        world_size=args.world,
        timeout=timedelta(seconds=GLOO_TIMEOUT_S),
    )
    dtypes = {"fp32": torch.float32, "fp16": torch.float16}
    tensors = {name: torch.ones(args.d, dtype=dt) for name, dt in dtypes.items()}  # (d,)
    for t in tensors.values():  # warm-up: connections and buffers
        dist.all_reduce(t)
        t.fill_(1.0)
    emit({"ready": True})
    for cmd in commands():
        name = cmd.split()[1]  # "go fp32"
        go = now()
        dist.all_reduce(tensors[name])
        end = now()
        ok = bool(tensors[name][0].item() == args.world)
        tensors[name].fill_(1.0)  # outside the clock: the next sum starts from ones again
        emit({"t_go": go, "t_end": end, "sum_ok": ok})
    dist.destroy_process_group()


def run_sink(args: argparse.Namespace) -> None:
    srv = socket.create_server((args.bind, 0))
    srv.settimeout(CONNECT_TIMEOUT_S)
    emit({"port": srv.getsockname()[1]})
    conn, _ = srv.accept()
    conn.settimeout(CONNECT_TIMEOUT_S)
    total, start = 0, None
    while chunk := conn.recv(PROBE_CHUNK):
        start = start or now()
        total += len(chunk)
    seconds = now() - (start or now())
    emit({"bytes": total, "seconds": seconds, "gbit_s": total * 8 / max(seconds, 1e-9) / 1e9})


def run_source(args: argparse.Namespace) -> None:
    conn = socket.create_connection((args.host, args.port), timeout=CONNECT_TIMEOUT_S)
    buf = os.urandom(PROBE_CHUNK)
    deadline = now() + args.seconds
    while now() < deadline:
        conn.sendall(buf)
    conn.close()
    emit({"done": True})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_node")
    roles = parser.add_subparsers(dest="role", required=True)
    m = roles.add_parser("master")
    m.add_argument("--bind", required=True)
    m.add_argument("--n", type=int, required=True)
    m.add_argument("--lo", type=int, required=True)
    m.add_argument("--hi", type=int, required=True)
    m.add_argument("--rounds", type=int, required=True)
    w = roles.add_parser("worker")
    w.add_argument("--shard", action="append", required=True, help="host:port:lo:hi")
    w.add_argument("--slot", type=int, required=True)
    w.add_argument("--token", action="append", required=True, help="one per --shard, in order")
    w.add_argument("--d", type=int, required=True)
    w.add_argument("--seed", type=int, required=True)
    w.add_argument("--segments", type=int, default=1, help="pipelined segments per shard")
    g = roles.add_parser("gloo")
    g.add_argument("--init", required=True, help="tcp://host:port of rank 0's store")
    g.add_argument("--rank", type=int, required=True)
    g.add_argument("--world", type=int, required=True)
    g.add_argument("--d", type=int, required=True)
    s = roles.add_parser("sink")
    s.add_argument("--bind", required=True)
    c = roles.add_parser("source")
    c.add_argument("--host", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args(argv)
    runners = {
        "master": run_master,
        "worker": run_worker,
        "gloo": run_gloo,
        "sink": run_sink,
        "source": run_source,
    }
    runners[args.role](args)


if __name__ == "__main__":
    main()
