"""``election bench cluster``: the project's master round and gloo all-reduce across namespaces.

One Linux network namespace per node (:mod:`bench.netns`): node 0 runs the master, nodes
1..n one worker process each; every node's link is rate-limited in both directions (tbf,
``--rate unlimited|10gbit|1gbit``). In the same run, on the same nodes 1..n, torch.distributed
gloo ``all_reduce`` (sum) of d fp32 and of d fp16 values: what a DDP user gets. Each point
(n, rate) prints one JSON line:

    round_ms                    median over --repeats of: the controller releases every node
                                -> the last node holds the result (the update: every vote in,
                                packed majority, every update out; gloo: the reduced tensor)
    busiest_link_bytes          per round, max over links and directions (bridge counters)
    bound_ms                    payload bits over the busiest link / rate. The master's link
                                carries n votes in, then n updates out (rounds are not
                                pipelined): 2 n ceil(d/8) bytes. A gloo ring moves
                                2 (n-1)/n d s bytes each way per link (s = 4 or 2 bytes).
    fraction_of_bound           bound_ms / round_ms (1 = at the wire)
    master_cpu_ms_per_worker    master process CPU (all threads) per round, divided by n
    machine_cpu_busy            share of all cores busy during the timed rounds (near 1: the
                                2 cores, not the wire, set the time)
    ratio_to_gloo_fp32/fp16     project round_ms / gloo round_ms, same run, same links
    link_probe_gbit_s           one TCP stream node 0 -> node 1 for --probe-seconds: what the
                                rate-limited path really carries on this machine

The master is one shard owning coordinates [0, d); a shard is a master owning a coordinate
range (:class:`bench.cluster_node.Shard`), which is where k > 1 masters plug in. Root only;
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
from bench.netns import RATES, Topology, check_prefix, rate_bps, require_root
from bench.procs import BenchError, Child, stop_all
from election.errors import ConfigError

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
    return ClusterBenchConfig(
        ns,
        rates,
        args.d,
        args.repeats,
        args.prefix,
        args.seed,
        args.probe_seconds,
        not args.no_gloo,
    )


def project_bound_bits(n: int, shards: list[Shard]) -> int:
    """Payload bits through the busiest master link per round: n votes in, n updates out."""
    return max(2 * n * ((s.hi - s.lo + 7) // 8) * 8 for s in shards)


def ring_bound_bits(n: int, d: int, itemsize: int) -> float:
    """Ring all-reduce: reduce-scatter + all-gather, 2 (n-1)/n d values each way per link."""
    return 2 * (n - 1) / n * d * itemsize * 8


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


Snapshot = tuple[dict[int, tuple[int, int]], tuple[int, int]]


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of every core so far, from /proc/stat (idle + iowait = not busy)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    return total - fields[3] - fields[4], total


def snapshot(topo: Topology) -> Snapshot:
    return topo.counters(), machine_jiffies()


def _traffic(before: Snapshot, after: Snapshot, rounds: int) -> dict[str, Any]:
    """Per-round bytes of the busiest link and of the master's (node 0's) link, and how busy
    the machine's cores were meanwhile (near 1: the CPU, not the wire, sets the time)."""
    b, a = before[0], after[0]
    per = {
        node: ((a[node][0] - b[node][0]) / rounds, (a[node][1] - b[node][1]) / rounds) for node in a
    }
    busiest = max(per, key=lambda node: max(per[node]))
    busy = after[1][0] - before[1][0]
    total = after[1][1] - before[1][1]
    return {
        "busiest_link_bytes": round(max(per[busiest])),
        "busiest_link_node": busiest,
        "master_link_in_bytes": round(per[0][0]),
        "master_link_out_bytes": round(per[0][1]),
        "machine_cpu_busy": round(busy / max(total, 1), 3),
    }


def _bounded(result: dict[str, Any], bound_bits: float, rate: float | None) -> dict[str, Any]:
    bound_ms = None if rate is None else bound_bits / rate * 1000
    frac = None if bound_ms is None else bound_ms / result["round_ms"]
    return result | {
        "bound_ms": None if bound_ms is None else round(bound_ms, 3),
        "fraction_of_bound": None if frac is None else round(frac, 3),
    }


def _release(children: list[Child], cmd: str) -> tuple[float, list[dict[str, Any]]]:
    """Send ``cmd`` to every child at once; (release time, each child's answer)."""
    t0 = now()
    for child in children:
        child.send(cmd)
    deadline = time.monotonic() + STEP_TIMEOUT_S
    return t0, [child.read(deadline) for child in children]


def project_phase(topo: Topology, cfg: ClusterBenchConfig, n: int, logs: Path) -> dict[str, Any]:
    """The real master on node 0, one worker per node 1..n; results per rate."""
    per_rate = cfg.repeats + 1
    rounds = per_rate * len(cfg.rates)
    role = flags("master", bind=topo.address(0), n=n, lo=0, hi=cfg.d, rounds=rounds)
    master = _spawn(topo, 0, role, logs, "master")
    children = [master]
    try:
        hello = master.read(time.monotonic() + START_TIMEOUT_S)
        shards = [Shard(topo.address(0), hello["port"], 0, cfg.d)]  # one shard owns [0, d)
        for s in range(n):
            token = hello["tokens"][s]
            role = flags("worker", slot=s, token=token, d=cfg.d, seed=cfg.seed + s)
            role += [f"--shard={shard}" for shard in shards]
            children.append(_spawn(topo, 1 + s, role, logs, f"worker{s}"))
        deadline = time.monotonic() + START_TIMEOUT_S
        for child in children[1:]:
            child.read(deadline)
        out: dict[str, Any] = {}
        r = 0
        for rate in cfg.rates:
            topo.set_rate(RATES[rate])
            times, cpu, snaps = [], [], []
            for rep in range(per_rate):
                if rep == 1:
                    snaps.append(snapshot(topo))
                    cpu.append(_ask(master, "cpu"))
                t0, answers = _release(children[1:], f"go {r}")
                times.append((max(a["t_end"] for a in answers) - t0) * 1000)
                r += 1
            snaps.append(snapshot(topo))
            cpu.append(_ask(master, "cpu"))
            if cpu[-1]["errors"]:
                raise BenchError(f"master failed: {cpu[-1]['errors']}")
            cpu_s = cpu[1]["cpu_s"] - cpu[0]["cpu_s"]
            result = {
                "round_ms": round(statistics.median(times[1:]), 3),
                "round_ms_all": [round(t, 3) for t in times[1:]],
                "master_cpu_ms_per_worker": round(cpu_s * 1000 / (cfg.repeats * n), 3),
                "aggregate_ms": round(statistics.median(cpu[1]["aggregate_ms"][-cfg.repeats :]), 3),
                **_traffic(snaps[0], snaps[1], cfg.repeats),
            }
            out[rate] = _bounded(result, project_bound_bits(n, shards), RATES[rate])
        return out
    finally:
        stop_all(children)


def _ask(child: Child, cmd: str) -> dict[str, Any]:
    child.send(cmd)
    return child.read(time.monotonic() + STEP_TIMEOUT_S)


def gloo_phase(topo: Topology, cfg: ClusterBenchConfig, n: int, logs: Path) -> dict[str, Any]:
    """n gloo ranks on nodes 1..n (rank 0's store on node 1); all_reduce per rate and dtype."""
    init = f"tcp://{topo.address(1)}:{GLOO_PORT}"
    children = [
        _spawn(
            topo,
            1 + rank,
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
                    **_traffic(before, snapshot(topo), cfg.repeats),
                }
                bound = ring_bound_bits(n, cfg.d, itemsize)
                out[f"{rate}/{dtype}"] = _bounded(result, bound, RATES[rate])
        return out
    finally:
        stop_all(children)


def link_probe(topo: Topology, seconds: float, logs: Path) -> float:
    """Gbit/s of one TCP stream node 0 -> node 1 through both rate limits and the bridge."""
    sink = _spawn(topo, 1, flags("sink", bind=topo.address(1)), logs, "sink")
    children = [sink]
    try:
        port = sink.read(time.monotonic() + START_TIMEOUT_S)["port"]
        role = flags("source", host=topo.address(1), port=port, seconds=seconds)
        source = _spawn(topo, 0, role, logs, "source")
        children.append(source)
        deadline = time.monotonic() + START_TIMEOUT_S + seconds
        source.read(deadline)
        return round(float(sink.read(deadline)["gbit_s"]), 3)
    finally:
        stop_all(children)


def run_points(cfg: ClusterBenchConfig, logs: Path) -> list[dict[str, Any]]:
    """Every (n, rate) point; one namespace set per n (node 0 + n workers)."""
    points = []
    for n in cfg.ns:
        with Topology(cfg.prefix, n + 1) as topo:
            probes = {}
            for rate in cfg.rates:
                topo.set_rate(RATES[rate])
                if cfg.probe_seconds > 0:
                    probes[rate] = link_probe(topo, cfg.probe_seconds, logs)
            project = project_phase(topo, cfg, n, logs)
            gloo = gloo_phase(topo, cfg, n, logs) if cfg.gloo else {}
        for rate in cfg.rates:
            point: dict[str, Any] = {
                "n": n,
                "d": cfg.d,
                "rate": rate,
                "master_shards": 1,
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


TABLE_HEADER = (
    "| n | link | probe Gbit/s | round ms | bound ms | of bound | master CPU ms/worker "
    "| gloo fp32 ms | gloo fp16 ms | / gloo fp32 | / gloo fp16 | gloo fp32 of bound | cores busy |"
)


def table(points: list[dict[str, Any]]) -> str:
    """The BENCHMARKS.md table of points (one row per point, as the command printed them)."""

    def f(x: object) -> str:
        if x is None:
            return "-"
        return f"{x:g}" if isinstance(x, float) else str(x)

    rows = [TABLE_HEADER, "|" + "---|" * TABLE_HEADER.count(" | ") + "---|"]
    for p in points:
        pr, g32, g16 = p["project"], p.get("gloo_fp32", {}), p.get("gloo_fp16", {})
        cells = [p["n"], p["rate"], p["link_probe_gbit_s"], pr["round_ms"], pr["bound_ms"],
                 pr["fraction_of_bound"], pr["master_cpu_ms_per_worker"], g32.get("round_ms"),
                 g16.get("round_ms"), p.get("ratio_to_gloo_fp32"), p.get("ratio_to_gloo_fp16"),
                 g32.get("fraction_of_bound"), pr["machine_cpu_busy"]]  # fmt: skip
        rows.append("| " + " | ".join(f(c) for c in cells) + " |")
    return "\n".join(rows)


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
