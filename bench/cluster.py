"""``election bench cluster``: the project's master round and gloo all-reduce across namespaces.

One Linux network namespace per node (:mod:`bench.netns`): nodes 0..k-1 run k master shards
(``--master-shards 1,3``: one point per k; shard s owns the coordinates
:func:`election.votes.shards.shard_ranges` gives it), nodes K..K+n-1 (K = the largest k) one
worker process each; every node's link is rate-limited in both directions (tbf, ``--rate
unlimited|10gbit|1gbit``). In the same run, on the same worker nodes, torch.distributed gloo
``all_reduce`` (sum) of d fp32 and of d fp16 values: what a DDP user gets. ``--segments 1,4``
adds pipelined rounds: each shard as S master processes on its node, one per segment of its
coordinates, the worker submitting the segments in order while a second thread fetches their
updates (the master service itself does not pipeline yet). Each point (n, k, S, rate) prints
one JSON line:

    round_ms                    median over --repeats of: the controller releases every node
                                -> the last node holds the result (the update: every vote in,
                                packed majority, every update out; gloo: the reduced tensor)
    busiest_link_bytes          per round, max over links and directions (bridge counters)
    bound_ms                    payload bits over the busiest link / rate. A shard's link
                                carries n vote slices in, then n update slices out (rounds
                                are not pipelined): 2 n ceil((hi - lo)/8) bytes, the largest
                                shard's (k = 1: 2 n ceil(d/8)); pipelined, both directions
                                at once: n (ceil(w/8) + its largest segment's bytes)
                                (bench.cluster_report.project_bound_bits). A gloo ring moves
                                2 (n-1)/n d s bytes each way per link (s = 4 or 2 bytes).
    fraction_of_bound           bound_ms / round_ms (1 = at the wire)
    master_cpu_ms_per_worker    the busiest shard's process CPU (all threads) per round / n
                                (k > 1: every shard's in shard_cpu_ms_per_worker)
    machine_cpu_busy            share of all cores busy during the timed rounds (near 1: the
                                2 cores, not the wire, set the time)
    ratio_to_gloo_fp32/fp16     project round_ms / gloo round_ms, same run, same links
    link_probe_gbit_s           one TCP stream node 0 -> node K for --probe-seconds: what the
                                rate-limited path really carries on this machine

A worker submits each shard its slice of the vote in parallel and joins the k update slices
(:mod:`bench.cluster_node`); ``master_link_*`` are shard 0's link. Root only;
every wait is bounded; processes and namespaces are removed in ``finally`` and on
SIGTERM/SIGHUP, and a run first sweeps its prefix's stale namespaces.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.cluster_node import Shard, now
from bench.cluster_report import (
    bounded,
    project_bound_bits,
    ring_bound_bits,
    snapshot,
    table,
    traffic,
)
from bench.netns import RATES, Topology, check_prefix, rate_bps, require_root
from bench.procs import BenchError, Child, stop_all
from election.errors import ConfigError
from election.votes.shards import shard_ranges

RESNET18_D = 11_173_962  # ResNet-18 parameters
START_TIMEOUT_S = 300.0  # every process of a phase reports ready within this (imports on 2 cores)
STEP_TIMEOUT_S = 300.0  # one round or one all-reduce, every node included
GLOO_PORT = 29500  # rank 0's rendezvous store, on node 1 (a fresh namespace: the port is free)
DTYPE_BYTES = {"fp32": 4, "fp16": 2}
NODE = [sys.executable, "-m", "bench.cluster_node"]


@dataclass(frozen=True)
class ClusterBenchConfig:
    ns: tuple[int, ...]  # workers per point
    rates: tuple[str, ...]  # names in bench.netns.RATES
    d: int  # coordinates per vote / values per all-reduce
    repeats: int  # timed rounds per point (after one warm-up round)
    prefix: str  # namespace name prefix (swept at start)
    seed: int  # worker s votes with numpy seed + s
    probe_seconds: float  # link probe per point (0 = none)
    gloo: bool  # also time gloo all_reduce
    # k master processes, one namespace each (shard_ranges of d); one project point per k,
    # on the same worker nodes and beside the same gloo run
    master_shards: tuple[int, ...] = (1,)
    # pipelined segments per shard (S master processes on the shard's node, one per segment
    # of its coordinates; 1 = not pipelined); one project point per (k, S)
    segments: tuple[int, ...] = (1,)

    @property
    def first_worker(self) -> int:
        """Node of worker 0 (and of gloo rank 0): nodes below it are for master shards."""
        return max(self.master_shards)


def parse_config(args: argparse.Namespace) -> ClusterBenchConfig:
    try:
        ns = tuple(int(x) for x in str(args.n).split(","))
    except ValueError:
        raise ConfigError(f"--n {args.n!r}: use worker counts like 5,15,31") from None
    rates = tuple(str(args.rate).split(","))
    for rate in rates:
        rate_bps(rate)
    check_prefix(args.prefix)
    if any(n < 2 for n in ns):
        raise ConfigError("--n: every point needs at least 2 workers")
    if args.d < 8 or args.repeats < 1:
        raise ConfigError("--d must be >= 8 and --repeats >= 1")
    try:
        shards = tuple(int(x) for x in str(args.master_shards).split(","))
    except ValueError:
        raise ConfigError(f"--master-shards {args.master_shards!r}: use counts like 1,3") from None
    for k in shards:
        shard_ranges(args.d, k)  # one line when k is not a positive count or too many for d
    try:
        segments = tuple(int(x) for x in str(args.segments).split(","))
    except ValueError:
        raise ConfigError(f"--segments {args.segments!r}: use counts like 1,4") from None
    for k in shards:
        for lo, hi in shard_ranges(args.d, k):
            for s in segments:
                if s < 1 or s > (hi - lo + 63) // 64:
                    raise ConfigError(
                        f"--segments {s}: use 1 to {(hi - lo + 63) // 64} (a segment owns at "
                        f"least one 64-coordinate word of a shard's {hi - lo})"
                    )
    return ClusterBenchConfig(
        ns,
        rates,
        args.d,
        args.repeats,
        args.prefix,
        args.seed,
        args.probe_seconds,
        not args.no_gloo,
        shards,
        segments,
    )


def flags(role: str, **values: object) -> list[str]:
    """``role --key value ...`` for bench.cluster_node."""
    out = [role]
    for key, value in values.items():
        out += [f"--{key}", str(value)]
    return out


def _spawn(topo: Topology, node: int, role: list[str], logs: Path, name: str) -> Child:
    env = dict(os.environ, OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="eth0")
    argv = [*topo.exec_prefix(node), *NODE, *role]
    return Child(argv, logs / f"{name}.log", env)


def _release(children: list[Child], cmd: str) -> tuple[float, list[dict[str, Any]]]:
    """Send ``cmd`` to every child at once; (release time, each child's answer)."""
    t0 = now()
    for child in children:
        child.send(cmd)
    deadline = time.monotonic() + STEP_TIMEOUT_S
    return t0, [child.read(deadline) for child in children]


def segment_ranges(d: int, k: int, segments: int) -> list[tuple[int, int]]:
    """Shard s's coordinates (shard_ranges(d, k)[s]) cut into ``segments`` contiguous pieces,
    shard after shard: k * segments ranges covering [0, d)."""
    return [
        (lo + a, lo + b)
        for lo, hi in shard_ranges(d, k)
        for a, b in shard_ranges(hi - lo, segments)
    ]


def _start_shards(
    topo: Topology, cfg: ClusterBenchConfig, n: int, k: int, segments: int, rounds: int, logs: Path
) -> tuple[list[Child], list[Shard], list[list[str]]]:
    """The k shard masters on nodes 0..k-1, each as ``segments`` processes (one per segment of
    its coordinates): (processes, segment shards, each one's slot tokens)."""
    ranges = segment_ranges(cfg.d, k, segments)
    children: list[Child] = []
    for i, (lo, hi) in enumerate(ranges):
        node = i // segments
        role = flags("master", bind=topo.address(node), n=n, lo=lo, hi=hi, rounds=rounds)
        children.append(_spawn(topo, node, role, logs, "master" if i == 0 else f"master{i}"))
    shards, tokens = [], []
    deadline = time.monotonic() + START_TIMEOUT_S
    for i, ((lo, hi), child) in enumerate(zip(ranges, children, strict=True)):
        hello = child.read(deadline)
        shards.append(Shard(topo.address(i // segments), hello["port"], lo, hi))
        tokens.append(hello["tokens"])
    return children, shards, tokens


def _shards_cpu(masters: list[Child]) -> list[dict[str, Any]]:
    """Every shard's CPU seconds so far and its majority times; BenchError if one failed."""
    answers = [_ask(m, "cpu") for m in masters]
    for s, answer in enumerate(answers):
        if answer["errors"]:
            raise BenchError(f"master shard {s} failed: {answer['errors']}")
    return answers


def _project_result(
    cfg: ClusterBenchConfig,
    n: int,
    times: list[float],
    cpu: list[list[dict[str, Any]]],
    segments: int = 1,
) -> dict[str, Any]:
    """round_ms and the shards' CPU of one rate's timed rounds (cpu: before and after, per
    master process; a shard's CPU is the sum over its ``segments`` processes)."""
    per_process = [after["cpu_s"] - before["cpu_s"] for before, after in zip(*cpu, strict=True)]
    cpu_s = [sum(per_process[i : i + segments]) for i in range(0, len(per_process), segments)]
    aggregate = [statistics.median(a["aggregate_ms"][-cfg.repeats :]) for a in cpu[1]]
    result = {
        "round_ms": round(statistics.median(times[1:]), 3),
        "round_ms_all": [round(t, 3) for t in times[1:]],
        "master_cpu_ms_per_worker": round(max(cpu_s) * 1000 / (cfg.repeats * n), 3),
        "aggregate_ms": round(max(aggregate), 3),
    }
    if len(cpu_s) > 1:
        result["shard_cpu_ms_per_worker"] = [round(c * 1000 / (cfg.repeats * n), 3) for c in cpu_s]
    return result


def project_phase(
    topo: Topology, cfg: ClusterBenchConfig, n: int, k: int, logs: Path, segments: int = 1
) -> dict[str, Any]:
    """The k real master shards on nodes 0..k-1 (each as ``segments`` pipelined processes),
    one worker per node K..K+n-1 (K = cfg.first_worker); results per rate."""
    per_rate, first = cfg.repeats + 1, cfg.first_worker
    rounds = per_rate * len(cfg.rates)
    children: list[Child] = []
    masters_n = k * segments
    try:
        masters, shards, tokens = _start_shards(topo, cfg, n, k, segments, rounds, logs)
        children += masters
        for s in range(n):
            role = flags("worker", slot=s, d=cfg.d, seed=cfg.seed + s, segments=segments)
            role += [f"--shard={shard}" for shard in shards]
            role += [f"--token={tokens[t][s]}" for t in range(masters_n)]
            children.append(_spawn(topo, first + s, role, logs, f"worker{s}"))
        deadline = time.monotonic() + START_TIMEOUT_S
        for child in children[masters_n:]:
            child.read(deadline)
        out: dict[str, Any] = {}
        r = 0
        for rate in cfg.rates:
            topo.set_rate(RATES[rate])
            times, cpu, snaps = [], [], []
            for rep in range(per_rate):
                if rep == 1:
                    snaps.append(snapshot(topo))
                    cpu.append(_shards_cpu(masters))
                t0, answers = _release(children[masters_n:], f"go {r}")
                times.append((max(a["t_end"] for a in answers) - t0) * 1000)
                r += 1
            snaps.append(snapshot(topo))
            cpu.append(_shards_cpu(masters))
            result = _project_result(cfg, n, times, cpu, segments)
            result |= traffic(snaps[0], snaps[1], cfg.repeats)
            out[rate] = bounded(result, project_bound_bits(n, shards, segments), RATES[rate])
        return out
    finally:
        stop_all(children)


def _ask(child: Child, cmd: str) -> dict[str, Any]:
    child.send(cmd)
    return child.read(time.monotonic() + STEP_TIMEOUT_S)


def gloo_phase(topo: Topology, cfg: ClusterBenchConfig, n: int, logs: Path) -> dict[str, Any]:
    """n gloo ranks on the worker nodes K..K+n-1 (K = cfg.first_worker, rank 0's store on node
    K); all_reduce per rate and dtype."""
    first = cfg.first_worker
    init = f"tcp://{topo.address(first)}:{GLOO_PORT}"
    children = [
        _spawn(
            topo,
            first + rank,
            flags("gloo", init=init, rank=rank, world=n, d=cfg.d),
            logs,
            f"gloo{rank}",
        )
        for rank in range(n)
    ]
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        for child in children:
            child.read(deadline)
        out: dict[str, Any] = {}
        for rate in cfg.rates:
            topo.set_rate(RATES[rate])
            for dtype, itemsize in DTYPE_BYTES.items():
                times = []
                for rep in range(cfg.repeats + 1):
                    if rep == 1:
                        before = snapshot(topo)
                    t0, answers = _release(children, f"go {dtype}")
                    if not all(a["sum_ok"] for a in answers):
                        raise BenchError(f"gloo all_reduce gave a wrong sum ({dtype})")
                    times.append((max(a["t_end"] for a in answers) - t0) * 1000)
                result = {
                    "round_ms": round(statistics.median(times[1:]), 3),
                    "round_ms_all": [round(t, 3) for t in times[1:]],
                    **traffic(before, snapshot(topo), cfg.repeats),
                }
                bound = ring_bound_bits(n, cfg.d, itemsize)
                out[f"{rate}/{dtype}"] = bounded(result, bound, RATES[rate])
        return out
    finally:
        stop_all(children)


def link_probe(topo: Topology, seconds: float, logs: Path, to: int = 1) -> float:
    """Gbit/s of one TCP stream node 0 -> node ``to`` through both rate limits and the bridge."""
    sink = _spawn(topo, to, flags("sink", bind=topo.address(to)), logs, "sink")
    children = [sink]
    try:
        port = sink.read(time.monotonic() + START_TIMEOUT_S)["port"]
        role = flags("source", host=topo.address(to), port=port, seconds=seconds)
        source = _spawn(topo, 0, role, logs, "source")
        children.append(source)
        deadline = time.monotonic() + START_TIMEOUT_S + seconds
        source.read(deadline)
        return round(float(sink.read(deadline)["gbit_s"]), 3)
    finally:
        stop_all(children)


def run_points(cfg: ClusterBenchConfig, logs: Path) -> list[dict[str, Any]]:
    """Every (n, rate, k) point; one namespace set per n (max k shard nodes + n workers)."""
    points = []
    first = cfg.first_worker
    for n in cfg.ns:
        with Topology(cfg.prefix, first + n) as topo:
            probes = {}
            for rate in cfg.rates:
                topo.set_rate(RATES[rate])
                if cfg.probe_seconds > 0:
                    probes[rate] = link_probe(topo, cfg.probe_seconds, logs, to=first)
            kinds = [(k, s) for k in cfg.master_shards for s in cfg.segments]
            projects = {(k, s): project_phase(topo, cfg, n, k, logs, s) for k, s in kinds}
            gloo = gloo_phase(topo, cfg, n, logs) if cfg.gloo else {}
        for rate, (k, segments) in ((rate, kind) for rate in cfg.rates for kind in kinds):
            project = projects[(k, segments)]
            point: dict[str, Any] = {
                "n": n,
                "d": cfg.d,
                "rate": rate,
                "master_shards": k,
                "segments": segments,
                "repeats": cfg.repeats,
                "link_probe_gbit_s": probes.get(rate),
                "project": project[rate],
            }
            for dtype in DTYPE_BYTES if cfg.gloo else ():
                g = gloo[f"{rate}/{dtype}"]
                point[f"gloo_{dtype}"] = g
                point[f"ratio_to_gloo_{dtype}"] = round(
                    project[rate]["round_ms"] / g["round_ms"], 3
                )
            point["load_avg_1m"] = round(os.getloadavg()[0], 2)
            point["cpus"] = os.cpu_count()
            print(json.dumps(point, sort_keys=True), flush=True)
            points.append(point)
    return points


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cluster", help="master round vs gloo all-reduce across network namespaces (root)"
    )
    parser.add_argument("--n", default="5,15,31", help="workers per point, comma-separated")
    parser.add_argument("--rate", default=",".join(RATES), help="link rates, comma-separated")
    parser.add_argument("--d", type=int, default=RESNET18_D, help="coordinates (ResNet-18)")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (after a warm-up)")
    parser.add_argument("--prefix", default="ecb", help="namespace prefix (its leftovers swept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--probe-seconds", type=float, default=1.0, help="link probe (0 = off)")
    parser.add_argument("--no-gloo", action="store_true", help="skip the gloo all-reduce")
    parser.add_argument(
        "--master-shards",
        default="1",
        help="master shard counts k, comma-separated (one point each; a shard per namespace)",
    )
    parser.add_argument(
        "--segments",
        default="1",
        help="pipelined segments per shard, comma-separated (one point each; 1 = not pipelined)",
    )
    parser.add_argument("--out", default="", help="run folder for config.json + points.jsonl")
    parser.add_argument("--json", action="store_true", help="(always JSON lines)")
    parser.add_argument(
        "--table", nargs="+", default=[], help="print points.jsonl FILEs as a markdown table"
    )
    parser.set_defaults(func=run)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: processes, namespaces


def run(args: argparse.Namespace) -> int:
    if args.table:
        lines = [line for path in args.table for line in Path(path).read_text().splitlines()]
        print(table([json.loads(line) for line in lines if line.strip()]))
        return 0
    cfg = parse_config(args)
    require_root("election bench cluster")
    out = Path(args.out) if args.out else Path(f"/tmp/election-cluster-{cfg.prefix}-{os.getpid()}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    previous = {sig: signal.signal(sig, _exit_on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        points = run_points(cfg, out)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    with (out / "points.jsonl").open("w") as f:
        for point in points:
            f.write(json.dumps(point, sort_keys=True) + "\n")
    print(f"bench cluster: {len(points)} points in {out}", file=sys.stderr)
    return 0
