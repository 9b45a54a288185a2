"""``election bench grpc``: one master round over real loopback sockets with synthetic votes.

The server (this process) is the master's own: ``master.server.MasterServer`` (grpc.aio) and
``master.servicer.ElectionServicer`` over a :class:`BenchService` (votes read in place by
``master.servicer.vote_chunk_deserializer``, the update serialized once and sent as bytes to
every stream), RoundState validation (run id, tokens, round, length), the packed majority, and
the long-polled update stream; only the model is missing. A client process runs n worker
threads, each with its own channel and a precomputed random dense vote.

    master_round_ms       from releasing the n votes to the last worker holding the update:
                          receive n votes + packed majority + send the update to every worker
                          (median over --rounds)
    wire_bytes_per_coord  serialized SubmitVote messages per vote per coordinate (1/8 + header)
    aggregate_ms          the packed majority alone (median)
    master_cpu_ms_per_worker   the server process's CPU (user + system, all threads) over the
                          timed rounds, per worker per round
    tcp_floor_cpu_ms_per_worker  the same accounting for plain TCP sockets moving the same bytes
                          (n vote-sized reads in, n update-sized writes out per round, buffers
                          reused) in the same run: what the kernel's copies cost, the floor
    sync_server_cpu_ms_per_worker  (``--compare-sync``) the same rounds on a synchronous
                          grpc.Server (a thread per stream) running the same serde calls
    protobuf_path_cpu_ms_per_worker  (``--compare-protobuf``) the same rounds on that synchronous
                          server with protobuf's own (de)serializers, which copy every vote and
                          serialize the update once per worker: the path before votes were
                          read in place
    master_minor_faults_per_worker  the server process's minor page faults over the timed
                          rounds, per worker per round (fresh pages touched)
    untuned_allocator_*   (``--compare-allocator``) the same rounds first in a fresh process
                          left with glibc malloc's defaults; this process (and so every other
                          figure) runs with ``wire.allocator.tune_allocator``, as the master
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any, cast

import grpc
import numpy as np

from bench.procs import BenchError
from election.errors import ConfigError
from election.transport.base import ROUND_DEADLINE_S
from election.votes import PackedVote, ZeroKind, majority
from master.config import MasterConfig
from master.metrics import Metrics
from master.rounds import RoundState
from master.server import MasterServer
from master.service import MasterService
from master.servicer import SERVICE_NAME, vote_chunk_deserializer
from wire import serde
from wire.allocator import tune_allocator
from wire.errors import MalformedMessage, ProtocolError, WrongLength, details
from wire.gen.election.v1 import election_pb2 as pb
from wire.gen.election.v1 import election_pb2_grpc as pb_grpc
from wire.jsonlog import JsonLog
from wire.messages import Credentials, Payload, RoundUpdate, UpdateQuery, Vote
from wire.options import channel_options, server_options
from wire.security import SlotTokens, new_secret
from wire.serde import ChunkView

RUN_ID = "bench"
CLIENT_TIMEOUT_S = 600.0  # the client processes must finish their rounds within this


class BenchServicer(pb_grpc.ElectionServicer):
    def __init__(self, rounds: RoundState, d: int) -> None:
        self.rounds = rounds
        self.max_nbytes = 2 * ((d + 7) // 8)
        self.lock = threading.Lock()
        self.cache: tuple[RoundUpdate, list[Any]] | None = None

    def SubmitVote(self, request_iterator: Iterator[ChunkView], context: Any) -> pb.VoteAck:
        try:
            vote = serde.vote_from_chunks(request_iterator, max_nbytes=self.max_nbytes)
            held = self.rounds.submit(vote)
        except ProtocolError as exc:
            context.abort(grpc.StatusCode[exc.code], details(exc))
        return pb.VoteAck(round=vote.round, accepted_votes=held)

    def GetUpdate(self, request: pb.UpdateRequest, context: Any) -> Iterator[Any]:
        query = serde.update_query_from_proto(request)
        self.rounds.check_reader(query.credentials)
        update = None
        while update is None and context.is_active():
            update = self.rounds.wait_update(query.round, 1.0)
        if update is not None:
            with self.lock:  # built once per round, shared by every worker's stream
                if self.cache is None or self.cache[0] is not update:
                    self.cache = (update, self.encode(update))
                chunks = self.cache[1]
            yield from chunks

    def encode(self, update: RoundUpdate) -> list[Any]:
        """The update stream's messages, as the GetUpdate handler's serializer takes them."""
        return serde.update_to_wire(update)


def bench_state(
    n: int, d: int, total_rounds: int, tokens: SlotTokens, first_round_wait_s: float = 0.0
) -> RoundState:
    """The real RoundState (run id, tokens, round, length checks) for n dense votes of d.

    ``first_round_wait_s``: round 0 waits up to this long for every vote before its deadline
    starts (worker processes that start slowly do not abstain)."""

    def check(payload: Payload) -> None:
        if not isinstance(payload, PackedVote):
            raise MalformedMessage("packed votes only")
        if payload.length != d:
            raise WrongLength(f"{payload.length} != {d}")

    return RoundState(
        run_id=RUN_ID,
        n_slots=n,
        total_rounds=total_rounds,
        check_token=tokens.check,
        check_payload=check,
        round_deadline_s=ROUND_DEADLINE_S,
        startup_timeout_s=first_round_wait_s,
    )


class BenchService:
    """What the master's servicer asks of :class:`master.service.MasterService`, over the
    bench's RoundState: the master's own gRPC server (``master.server.MasterServer``, grpc.aio)
    and servicer (``master.servicer.ElectionServicer``) run on it unchanged, without a model."""

    def __init__(self, rounds: RoundState, d: int) -> None:
        self.rounds = rounds
        self.width = d
        self.options = MasterConfig()  # the master's defaults: stream limits, chunk sizes
        self.metrics = Metrics()
        self.log = JsonLog("bench-master", quiet=True)

    def submit(self, vote: Vote) -> int:
        return self.rounds.submit(vote)

    def check_declared(self, encoding: str, length: int, total_nbytes: int) -> None:
        if length != self.width:
            raise WrongLength(f"{length} != {self.width}")

    def check_update_query(self, query: UpdateQuery) -> None:
        self.rounds.check_reader(query.credentials)

    def delivered(self, slot: int, update: RoundUpdate, nbytes: int) -> None:
        self.metrics.inc("bytes_sent", nbytes)


class MasterBenchServer:
    """The master's own server over a BenchService: ``stop(grace)`` like a grpc.Server's."""

    def __init__(self, state: RoundState, d: int, bind: str, port: int) -> None:
        service = cast(MasterService, BenchService(state, d))
        self.server = MasterServer(service, bind=bind, port=port)
        self.port = self.server.start()

    def stop(self, grace: float) -> threading.Event:
        self.server.stop(grace)
        done = threading.Event()
        done.set()
        return done


class ProtobufPathServicer(BenchServicer):
    """The copying path, for comparison: protobuf parses each vote (copying its bytes) and
    gRPC serializes the shared update messages once per worker's stream."""

    def encode(self, update: RoundUpdate) -> list[Any]:
        return list(serde.update_to_chunks(update))


def start_bench_server(
    state: RoundState,
    n: int,
    d: int,
    bind: str = "127.0.0.1",
    port: int = 0,
    *,
    protobuf_path: bool = False,
    sync_server: bool = False,
) -> tuple[Any, int]:
    """Serve ``state`` on bind:port (0 = any free port); (server, port). By default the
    master's own server and servicer (grpc.aio, :class:`BenchService`).

    ``sync_server``: a synchronous grpc.Server with a thread per stream running BenchServicer
    (the same serde and RoundState calls); ``protobuf_path``: that server with protobuf's own
    (de)serializers instead of the master's (both for comparison)."""
    if not (sync_server or protobuf_path):
        master = MasterBenchServer(state, d, bind, port)
        return master, master.port
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4 * n + 8), options=server_options()
    )
    servicer = (ProtobufPathServicer if protobuf_path else BenchServicer)(state, d)
    handlers = {  # the master's (de)serializers: votes read in place, updates as bytes
        "SubmitVote": grpc.stream_unary_rpc_method_handler(
            servicer.SubmitVote,
            request_deserializer=pb.VoteChunk.FromString
            if protobuf_path
            else vote_chunk_deserializer,
            response_serializer=pb.VoteAck.SerializeToString,
        ),
        "GetUpdate": grpc.unary_stream_rpc_method_handler(
            servicer.GetUpdate,
            request_deserializer=pb.UpdateRequest.FromString,
            response_serializer=pb.UpdateChunk.SerializeToString if protobuf_path else None,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    bound = server.add_insecure_port(f"{bind}:{port}")
    server.start()
    return server, bound


def process_cpu_s() -> float:
    """This process's user + system CPU seconds, all threads (getrusage)."""
    return process_usage()[0]


def process_usage() -> tuple[float, int]:
    """This process's (user + system CPU seconds, minor page faults), all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_minflt


def master_rounds(
    state: RoundState,
    n: int,
    rounds: range,
    aggregate_ms: list[float],
    cpu_marks: list[tuple[float, int]] | None = None,
) -> None:
    """collect -> packed majority -> publish for each round; appends the majority's ms (and
    the process CPU seconds and page faults when each round starts collecting, to
    ``cpu_marks``)."""
    for r in rounds:
        if cpu_marks is not None:
            cpu_marks.append(process_usage())
        votes = state.collect(r)
        t0 = time.perf_counter()
        update = majority(votes)  # type: ignore[arg-type]
        aggregate_ms.append((time.perf_counter() - t0) * 1000)
        state.publish(RoundUpdate(r, "0" * 64, update, n, 0))


def serve(
    n: int, d: int, rounds: int, *, protobuf_path: bool = False, sync_server: bool = False
) -> dict[str, Any]:
    tokens = SlotTokens(new_secret(), RUN_ID, n)
    state = bench_state(n, d, rounds + 1, tokens)
    server, port = start_bench_server(
        state, n, d, protobuf_path=protobuf_path, sync_server=sync_server
    )
    client = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.grpc",
            "--client",
            f"127.0.0.1:{port}",
            "--n",
            str(n),
            "--d",
            str(d),
            "--rounds",
            str(rounds + 1),
            "--tokens",
            ",".join(tokens.issue(s) for s in range(n)),
        ],
        stdout=subprocess.PIPE,
    )
    aggregate_ms: list[float] = []
    cpu_marks: list[tuple[float, int]] = []
    try:
        master_rounds(state, n, range(rounds + 1), aggregate_ms, cpu_marks)
        out, _ = client.communicate(timeout=CLIENT_TIMEOUT_S)
    finally:  # a failed round leaves no client process behind
        if client.poll() is None:
            client.kill()
            client.wait()
    if client.returncode != 0:
        server.stop(grace=1)
        raise BenchError(f"the bench's client process failed (exit {client.returncode})")
    cpu_end, faults_end = process_usage()
    cpu_s = cpu_end - cpu_marks[1][0]  # rounds 1..rounds: the warm-up round 0 is left out
    faults = faults_end - cpu_marks[1][1]
    server.stop(grace=1)
    result = json.loads(out)
    return result | {
        "aggregate_ms": statistics.median(aggregate_ms[1:]),
        "master_cpu_ms_per_worker": round(cpu_s * 1000 / (rounds * n), 3),
        "master_minor_faults_per_worker": round(faults / (rounds * n), 1),
    }


def serve_untuned(n: int, d: int, rounds: int) -> dict[str, Any]:
    """:func:`serve` in a fresh process left with glibc malloc's defaults (its threads get
    their arenas under the defaults, as in a master process without the tuning)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.grpc", "--serve-untuned"]
        + ["--n", str(n), "--d", str(d), "--rounds", str(rounds)],
        stdout=subprocess.PIPE,
        check=True,
        timeout=CLIENT_TIMEOUT_S,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def tcp_floor(n: int, nbytes: int, rounds: int) -> dict[str, Any]:
    """Plain TCP on loopback moving a round's bytes (n reads of ``nbytes`` in, n writes out;
    buffers reused, one thread per peer): this process's CPU per worker per round."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    peers = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.grpc", "--tcp-peer", str(port)]
            + ["--nbytes", str(nbytes), "--rounds", str(rounds + 1)]
        )
        for _ in range(n)
    ]
    listener.settimeout(CLIENT_TIMEOUT_S)
    conns = [listener.accept()[0] for _ in range(n)]
    inbox = [bytearray(nbytes) for _ in range(n)]
    outgoing = bytes(nbytes)

    pool = futures.ThreadPoolExecutor(n)  # one thread per peer for every round, as a server's

    def one_round() -> None:
        list(pool.map(_recv_exactly, conns, inbox))
        list(pool.map(lambda c: c.sendall(outgoing), conns))

    one_round()  # warm-up, as the gRPC rounds
    start, t0 = process_cpu_s(), time.perf_counter()
    for _ in range(rounds):
        one_round()
    cpu_s, wall_s = process_cpu_s() - start, time.perf_counter() - t0
    pool.shutdown()
    for conn in conns:
        conn.close()
    for peer in peers:
        peer.wait(timeout=CLIENT_TIMEOUT_S)
    listener.close()
    return {
        "tcp_floor_cpu_ms_per_worker": round(cpu_s * 1000 / (rounds * n), 3),
        "tcp_floor_round_ms": round(wall_s * 1000 / rounds, 2),
    }


def _recv_exactly(conn: socket.socket, buf: bytearray) -> None:
    view, got = memoryview(buf), 0
    while got < len(buf):
        size = conn.recv_into(view[got:])
        if not size:
            raise ConnectionError("peer closed mid-round")
        got += size


def run_tcp_peer(port: int, nbytes: int, rounds: int) -> None:
    """One worker of :func:`tcp_floor`: send a vote's bytes, read an update's, per round."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT_S)
    vote, update = bytes(nbytes), bytearray(nbytes)
    for _ in range(rounds):
        conn.sendall(vote)
        _recv_exactly(conn, update)
    conn.close()


def random_dense_vote(rng: np.random.Generator, d: int) -> PackedVote:
    """A uniformly random dense vote of d coordinates (padding bits zero)."""
    bits = rng.integers(0, 256, size=(d + 7) // 8, dtype=np.uint8)  # (ceil(d/8),) uint8
    if d % 8:
        bits[-1] &= (1 << (d % 8)) - 1
    return PackedVote(length=d, sign_bits=bits, zero_kind=ZeroKind.NONE)


def vote_and_fetch(
    stub: pb_grpc.ElectionStub, cred: Credentials, r: int, chunks: list[pb.VoteChunk], d: int
) -> RoundUpdate:
    """One worker round on the wire: SubmitVote (prebuilt chunks), then GetUpdate in full."""
    stub.SubmitVote(iter(chunks), timeout=ROUND_DEADLINE_S)
    return fetch_update(stub, cred, r, d)


def fetch_update(stub: pb_grpc.ElectionStub, cred: Credentials, r: int, d: int) -> RoundUpdate:
    """GetUpdate of round r in full (long-polls until the master publishes it)."""
    query = serde.update_query_to_proto(UpdateQuery(cred, r))
    return serde.update_from_chunks(
        stub.GetUpdate(query, timeout=ROUND_DEADLINE_S), max_nbytes=2 * ((d + 7) // 8) + 64
    )


def run_client(target: str, n: int, d: int, rounds: int, tokens: list[str]) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    votes = [random_dense_vote(rng, d) for _ in range(n)]
    # a connection per worker, as n worker processes have (channels in one process with the
    # same target and options would otherwise share one, and the master caps uploads per
    # connection: StreamLimits.uploads_per_peer)
    own_connection = [*channel_options(), ("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.insecure_channel(target, options=own_connection) for _ in range(n)]
    stubs = [pb_grpc.ElectionStub(c) for c in channels]
    wire_bytes = sum(
        c.ByteSize()
        for c in serde.vote_to_chunks(Vote(Credentials(RUN_ID, 0, tokens[0]), 0, votes[0]))
    )
    start = threading.Barrier(n + 1)
    finished = threading.Barrier(n + 1)

    def worker(slot: int) -> None:
        cred = Credentials(RUN_ID, slot, tokens[slot])
        try:
            for r in range(rounds):
                chunks = list(serde.vote_to_chunks(Vote(cred, r, votes[slot])))
                start.wait()
                vote_and_fetch(stubs[slot], cred, r, chunks, d)
                finished.wait()
        except BaseException:  # every other thread and the timer stop waiting for this one
            start.abort()
            finished.abort()
            raise

    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in range(n)]
    for t in threads:
        t.start()
    round_ms = []
    for _ in range(rounds):
        start.wait()
        t0 = time.perf_counter()
        finished.wait()
        round_ms.append((time.perf_counter() - t0) * 1000)
    for t in threads:
        t.join()
    return {
        "master_round_ms": statistics.median(round_ms[1:]),
        "master_round_ms_min": min(round_ms[1:]),
        "wire_bytes_per_vote": wire_bytes,
        "wire_bytes_per_coord": wire_bytes / d,
    }


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("grpc", help="one master round over loopback gRPC")
    add_flags(parser)
    parser.set_defaults(func=run)


def add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=15, help="workers")
    parser.add_argument("--d", type=int, default=11_173_962, help="coordinates (ResNet-18)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (after one warm-up)")
    parser.add_argument("--json", action="store_true", help="(always JSON; accepted for symmetry)")
    parser.add_argument(
        "--table", metavar="JSONL", help="print the markdown table of saved results and exit"
    )
    parser.add_argument(
        "--compare-protobuf",
        action="store_true",
        help="also run the rounds with protobuf's own (de)serializers (the copying path)",
    )
    parser.add_argument(
        "--compare-sync",
        action="store_true",
        help="also run the rounds on a synchronous grpc.Server (a thread per stream)",
    )
    parser.add_argument(
        "--compare-allocator",
        action="store_true",
        help="first run the rounds with glibc malloc's defaults (before the master's tuning)",
    )


TABLE_COLUMNS = (  # (heading, key) of the master-CPU table in BENCHMARKS.md
    ("n", "n"),
    ("master CPU ms/worker", "master_cpu_ms_per_worker"),
    ("protobuf path CPU ms/worker", "protobuf_path_cpu_ms_per_worker"),
    ("protobuf / in place", "protobuf_over_in_place"),
    ("TCP floor CPU ms/worker", "tcp_floor_cpu_ms_per_worker"),
    ("master / floor", "master_cpu_over_tcp_floor"),
    ("round ms", "master_round_ms"),
    ("protobuf path round ms", "protobuf_path_round_ms"),
    ("TCP floor round ms", "tcp_floor_round_ms"),
    ("majority ms", "aggregate_ms"),
    ("sync server CPU ms/worker", "sync_server_cpu_ms_per_worker"),
    ("sync server round ms", "sync_server_round_ms"),
    ("page faults/worker", "master_minor_faults_per_worker"),
    ("untuned malloc CPU ms/worker", "untuned_allocator_cpu_ms_per_worker"),
    ("untuned malloc page faults/worker", "untuned_allocator_minor_faults_per_worker"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"  # a figure this result does not have (an older run, or no --compare-*)
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def table(path: str) -> str:
    """The markdown table of a JSONL file of ``bench grpc --compare-protobuf`` results."""
    try:
        rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--table {path}: {exc}") from None
    lines = [
        "| " + " | ".join(h for h, _ in TABLE_COLUMNS) + " |",
        "|" + "---|" * len(TABLE_COLUMNS),
    ]
    for row in rows:
        if "protobuf_path_cpu_ms_per_worker" not in row:
            raise ConfigError(f"--table {path}: a result without --compare-protobuf")
        # the protobuf path runs on the synchronous server: compared with the same server
        # (results from before --compare-sync ran the master's serde on that server only)
        in_place = row.get("sync_server_cpu_ms_per_worker", row["master_cpu_ms_per_worker"])
        row = row | {"protobuf_over_in_place": row["protobuf_path_cpu_ms_per_worker"] / in_place}
        cells = [_cell(row.get(k)) for _, k in TABLE_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.table:
        print(table(args.table))
        return 0
    if args.n < 1 or args.d < 1 or args.rounds < 1:
        raise ConfigError(f"--n {args.n}, --d {args.d}, --rounds {args.rounds} must all be >= 1")
    applied = tune_allocator(os.environ)  # as the master process does at start, before any thread
    untuned = serve_untuned(args.n, args.d, args.rounds) if args.compare_allocator else None
    result = serve(args.n, args.d, args.rounds)
    result["allocator_tuned"] = applied
    if untuned is not None:
        for key in ("cpu_ms_per_worker", "minor_faults_per_worker"):
            result[f"untuned_allocator_{key}"] = untuned[f"master_{key}"]
        result["untuned_allocator_round_ms"] = untuned["master_round_ms"]
    result |= tcp_floor(args.n, (args.d + 7) // 8, args.rounds)
    result["master_cpu_over_tcp_floor"] = round(
        result["master_cpu_ms_per_worker"] / result["tcp_floor_cpu_ms_per_worker"], 2
    )
    if args.compare_sync:
        sync = serve(args.n, args.d, args.rounds, sync_server=True)
        result["sync_server_cpu_ms_per_worker"] = sync["master_cpu_ms_per_worker"]
        result["sync_server_round_ms"] = sync["master_round_ms"]
    if args.compare_protobuf:
        copying = serve(args.n, args.d, args.rounds, protobuf_path=True)
        result["protobuf_path_cpu_ms_per_worker"] = copying["master_cpu_ms_per_worker"]
        result["protobuf_path_round_ms"] = copying["master_round_ms"]
    result |= {"n": args.n, "d": args.d, "rounds": args.rounds, "dense_bound": 1 / 8}
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    add_flags(p)
    p.add_argument("--client")
    p.add_argument("--tokens", default="")
    p.add_argument("--tcp-peer", type=int)
    p.add_argument("--nbytes", type=int)
    p.add_argument("--serve-untuned", action="store_true")
    a = p.parse_args()
    if a.serve_untuned:
        print(json.dumps(serve(a.n, a.d, a.rounds)))
    elif a.tcp_peer:
        run_tcp_peer(a.tcp_peer, a.nbytes, a.rounds)
    else:
        print(json.dumps(run_client(a.client, a.n, a.d, a.rounds, a.tokens.split(","))))
