"""``python -m bench.hostile``: probe and round latency of a real cluster under a stalled-upload
flood, against the same run's quiet rounds (issue 12, finding 2; docs/grpc.md "Threat model").

One local cluster (a master process and n worker processes on loopback, ``--pace 0`` so rounds
run back to back) trains a small digits model. A prober thread sends a health Check and a
GetStatus, one after the other, every ``probe_gap_s``. After ``quiet_s`` seconds of quiet rounds
``adversary.flood`` opens ``--streams`` SubmitVote streams over ``--connections`` connections
and never completes one (bounded: each has a ``--hold`` s client deadline, none is reopened).
Each probe and each round is put in the window it ended in, quiet (before the flood) or flood
(while the flood process runs), and the figures are compared as ratios flood / quiet:

    health_ms, status_ms   probe latency (p50, p99, max)
    round_ms               time between two consecutive rounds' publications at the master
                           (its ``round`` log events): a worker fetches the update, computes and
                           uploads its vote, the master collects n votes, aggregates, publishes
    slowest_rounds         the slowest rounds of a window: (seconds into it, ms)
    probe_failures         probes that got an error in the window (none expected)
    same_model             the cluster's final model_sha256 equals the in-process run's

Prints one JSON object (machine, load before and after, config, windows, ratios, the flood's
answers, the master's rejection counters).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import standalone_main
from election.config import TrainConfig, build_config
from election.errors import ConfigError
from election.training.loop import train_inprocess
from election.training.setup import prepare
from master.cluster import REPO_ROOT, LocalCluster
from wire.gen.election.v1 import election_pb2 as pb
from wire.gen.election.v1 import election_pb2_grpc as pb_grpc
from wire.options import channel_options

SERVICE = "election.v1.Election"
WARM_ROUNDS = 2  # every worker has joined and voted before the quiet window starts
SLOWEST = 5  # slowest rounds listed per window, with their time in the window


@dataclass(frozen=True)
class HostileBenchConfig:
    """Sizes and times of one run (defaults: the issue's 500 stalled streams)."""

    streams: int = 500  # stalled SubmitVote streams the flood opens at once
    connections: int = 10  # connections they are spread over
    hold_s: float = 15.0  # client deadline of each flood stream (bounds the flood)
    steps: int = 1500  # rounds of the run; must outlast quiet_s + the flood
    quiet_s: float = 10.0  # quiet window before the flood starts
    probe_gap_s: float = 0.02  # pause between two probes
    probe_timeout_s: float = 5.0  # deadline of one probe RPC
    run_timeout_s: float = 600.0  # the whole cluster run
    n: int = 3  # slots (all honest)
    b: int = 1  # the code's tolerance (min_votes = n - b)
    num_train: int = 300  # digits training samples
    seed: int = 0


def quantile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank q-quantile: the ceil(q * N)-th smallest sample."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def figures(samples_s: Sequence[float]) -> dict[str, float | int]:
    """count, p50, p99 and max of ``samples_s`` (seconds), in ms."""
    if not samples_s:
        return {"count": 0}
    ms = [s * 1000.0 for s in samples_s]
    return {
        "count": len(ms),
        "p50_ms": round(quantile(ms, 0.50), 2),
        "p99_ms": round(quantile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
    }


class Prober(threading.Thread):
    """Health Check + GetStatus in a loop; records (wall time at the end, kind, seconds)."""

    def __init__(self, target: str, bench: HostileBenchConfig) -> None:
        super().__init__(name="prober", daemon=True)
        self.target, self.bench = target, bench
        self.samples: list[tuple[float, str, float]] = []
        self.failures: list[tuple[float, str]] = []  # (wall time, "kind: CODE")
        self.stop = threading.Event()

    def run(self) -> None:
        channel = grpc.insecure_channel(self.target, options=channel_options())
        health = health_pb2_grpc.HealthStub(channel)
        stub = pb_grpc.ElectionStub(channel)
        request = health_pb2.HealthCheckRequest(service=SERVICE)
        calls = (
            ("health", lambda: health.Check(request, timeout=self.bench.probe_timeout_s)),
            (
                "status",
                lambda: stub.GetStatus(pb.StatusRequest(), timeout=self.bench.probe_timeout_s),
            ),
        )
        while not self.stop.is_set():
            for kind, call in calls:
                t0 = time.perf_counter()
                try:
                    call()
                except grpc.RpcError as exc:
                    self.failures.append((time.time(), f"{kind}: {exc.code().name}"))
                    continue
                self.samples.append((time.time(), kind, time.perf_counter() - t0))
            self.stop.wait(self.bench.probe_gap_s)
        channel.close()


def round_times(log: Path) -> list[tuple[float, float, int]]:
    """(wall time of publication, seconds since the previous one, votes) per round event."""
    events = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "round":
                events.append((float(event["ts"]), int(event["votes"])))
    return [(t, t - prev, votes) for (prev, _), (t, votes) in zip(events, events[1:], strict=False)]


def wait_for_round(target: str, at_least: int, timeout_s: float) -> None:
    """Poll GetStatus until the master's model is at round >= ``at_least``."""
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(target, options=channel_options()) as channel:
        stub = pb_grpc.ElectionStub(channel)
        while time.monotonic() < deadline:
            try:
                if stub.GetStatus(pb.StatusRequest(), timeout=2.0).round >= at_least:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.05)
    raise ConfigError(f"the cluster did not reach round {at_least} in {timeout_s:g} s")


def in_window(t: float, window: tuple[float, float]) -> bool:
    return window[0] <= t < window[1]


def window_figures(
    prober: Prober,
    rounds: list[tuple[float, float, int]],
    window: tuple[float, float],
    n: int,
) -> dict[str, Any]:
    probes = prober.samples
    inside = [r for r in rounds if in_window(r[0], window)]
    return {
        "probe_failures": [what for t, what in prober.failures if in_window(t, window)],
        "seconds": round(window[1] - window[0], 2),
        "health": figures([s for t, k, s in probes if k == "health" and in_window(t, window)]),
        "status": figures([s for t, k, s in probes if k == "status" and in_window(t, window)]),
        "round": figures([dt for _, dt, _ in inside]),
        # the SLOWEST rounds: (seconds into the window at publication, ms), where they fall
        "slowest_rounds": [
            (round(t - window[0], 2), round(dt * 1000.0, 1))
            for t, dt, _ in sorted(inside, key=lambda r: -r[1])[:SLOWEST]
        ],
        "rounds_with_abstentions": sum(votes < n for _, _, votes in inside),
    }


def ratios(quiet: dict[str, Any], flood: dict[str, Any]) -> dict[str, float | None]:
    """flood / quiet for each p50 and p99 (None where a window has no sample)."""
    out: dict[str, float | None] = {}
    for kind in ("health", "status", "round"):
        for stat in ("p50_ms", "p99_ms"):
            a, b = quiet[kind].get(stat), flood[kind].get(stat)
            out[f"{kind}_{stat[:-3]}"] = round(b / a, 2) if a and b is not None else None
    return out


def machine() -> dict[str, Any]:
    return {
        "node": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "grpc": grpc.__version__,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def bench_train_config(bench: HostileBenchConfig, workdir: Path) -> TrainConfig:
    """The honest run the flood is aimed at: digits, uncoded, no attack, one thread."""
    return build_config(
        {
            "dataset": "digits",
            "num_train": bench.num_train,
            "threads": 1,
            "n": bench.n,
            "b": bench.b,
            "code": "uncoded",
            "attack": "none",
            "batch_size": 60,
            "eval_every": bench.steps,
            "steps": bench.steps,
            "seed": bench.seed,
            "runs_dir": str(workdir / "runs"),
        }
    )


def _flood(target: str, env: dict[str, str], bench: HostileBenchConfig) -> dict[str, Any]:
    """Run the stalled-stream flood (adversary.flood) to its end; its JSON report."""
    flood = subprocess.run(
        [sys.executable, "-m", "adversary.flood", "--master", target]
        + ["--streams", str(bench.streams), "--connections", str(bench.connections)]
        + ["--hold", str(bench.hold_s)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=bench.hold_s + 120.0,
        check=True,
    )
    report: dict[str, Any] = json.loads(flood.stdout)
    return report


@dataclass(frozen=True)
class _Windows:
    """When the quiet window and the flood began and when the flood ended (time.time())."""

    quiet_start: float
    flood_start: float
    flood_end: float


def _run_flooded(
    cluster: LocalCluster, bench: HostileBenchConfig
) -> tuple[Prober, _Windows, dict[str, Any], dict[str, Any]]:
    """Warm up, probe a quiet window, flood; the prober, the windows, flood report, summary."""
    prober: Prober | None = None
    try:
        cluster.start_all()
        wait_for_round(cluster.target, WARM_ROUNDS, bench.run_timeout_s)
        prober = Prober(cluster.target, bench)
        prober.start()
        quiet_start = time.time()
        time.sleep(bench.quiet_s)
        flood_start = time.time()
        report = _flood(cluster.target, cluster.env, bench)
        windows = _Windows(quiet_start, flood_start, time.time())
        summary = cluster.wait(bench.run_timeout_s)
    finally:
        if prober is not None:
            prober.stop.set()
            prober.join(10.0)
        cluster.stop()
    return prober, windows, report, summary


def run_bench(bench: HostileBenchConfig, workdir: Path) -> dict[str, Any]:
    cfg = bench_train_config(bench, workdir)
    before = machine()
    cluster = LocalCluster(
        cfg, workdir / "cluster", master_args=["--quiet", "--round-deadline", "20"]
    )
    prober, windows, report, summary = _run_flooded(cluster, bench)
    rounds = round_times(cluster.workdir / "master.log")
    if not rounds or rounds[-1][0] < windows.flood_end:
        raise ConfigError(f"the run ended before the flood did: raise --steps (now {bench.steps})")
    quiet = window_figures(prober, rounds, (windows.quiet_start, windows.flood_start), bench.n)
    during = window_figures(prober, rounds, (windows.flood_start, windows.flood_end), bench.n)
    reference = train_inprocess(prepare(cfg.replace(runs_dir=str(workdir / "ref"))), progress=False)
    return {
        "bench": "hostile",
        "machine": before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "config": asdict(bench),
        "quiet": quiet,
        "flood": during,
        "ratio_flood_over_quiet": ratios(quiet, during),
        "flood_answers": report["answers"],
        "steps": summary["steps"],
        "abstentions": summary["abstentions"],
        "rejected": summary["rejected"],
        "same_model": summary["model_sha256"] == reference["model_sha256"],
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = HostileBenchConfig()
    parser.add_argument("--streams", type=int, default=d.streams, help="stalled streams")
    parser.add_argument("--connections", type=int, default=d.connections, help="connections")
    parser.add_argument("--hold", type=float, default=d.hold_s, help="client deadline, s")
    parser.add_argument("--steps", type=int, default=d.steps, help="rounds of the run")
    parser.add_argument("--quiet-s", type=float, default=d.quiet_s, help="quiet window, s")
    parser.add_argument("--json", action="store_true", help="one-line JSON (else indented)")


def run(args: argparse.Namespace) -> int:
    if args.streams < 1 or args.connections < 1 or not 0 < args.hold < 3600:
        raise ConfigError("--streams and --connections must be >= 1, --hold in (0, 3600)")
    if args.steps < 2 or not 0 < args.quiet_s < 3600:
        raise ConfigError("--steps must be >= 2 and --quiet-s in (0, 3600)")
    bench = HostileBenchConfig(
        streams=args.streams,
        connections=args.connections,
        hold_s=args.hold,
        steps=args.steps,
        quiet_s=args.quiet_s,
    )
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        result = run_bench(bench, Path(tmp))
    print(json.dumps(result, sort_keys=True, indent=None if args.json else 2))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "hostile", help="probe and round latency under stalled uploads (JSON)"
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main("python -m bench.hostile", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
