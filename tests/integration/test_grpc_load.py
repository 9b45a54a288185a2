"""Stalled uploads cannot freeze the master (a real local cluster and a real hostile process).

While honest workers train, ``adversary.flood`` opens 500 SubmitVote streams over 10
connections and never completes one (half send a header without a token, half send nothing;
each with a 15 s client deadline, none reopened). Health checks and GetStatus keep answering
(p99 below 100 ms), every flood stream is refused and counted once under the reason its client
was told, and the honest rounds close without an abstention on the in-process model.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from master.admission import StreamLimits
from master.cluster import REPO_ROOT, LocalCluster
from tests.integration.grpc_helpers import reference_sha, small_config, wait_for_round
from wire.gen.election.v1 import election_pb2 as pb
from wire.gen.election.v1 import election_pb2_grpc as pb_grpc
from wire.options import channel_options

STREAMS, CONNECTIONS, HOLD_S = 500, 10, 15.0
STEPS = 40
P99_LIMIT_S = 0.100  # the target for health and GetStatus under the flood
PROBE_GAP_S = 0.02  # pause between two probes
FLOOD_TIMEOUT_S = 90.0


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def probe_while(flood: subprocess.Popen[str], target: str) -> dict[str, list[float]]:
    """Health Check and GetStatus latencies, one after the other, until the flood ends."""
    channel = grpc.insecure_channel(target, options=channel_options())
    health = health_pb2_grpc.HealthStub(channel)
    stub = pb_grpc.ElectionStub(channel)
    times: dict[str, list[float]] = {"health": [], "status": []}
    request = health_pb2.HealthCheckRequest(service="election.v1.Election")
    deadline = time.monotonic() + FLOOD_TIMEOUT_S
    while flood.poll() is None and time.monotonic() < deadline:
        t0 = time.perf_counter()
        reply = health.Check(request, timeout=5.0)
        times["health"].append(time.perf_counter() - t0)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        t0 = time.perf_counter()
        stub.GetStatus(pb.StatusRequest(), timeout=5.0)
        times["status"].append(time.perf_counter() - t0)
        time.sleep(PROBE_GAP_S)
    channel.close()
    return times


def test_500_stalled_streams_leave_health_status_and_rounds_on_time(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, attack="none", steps=STEPS)
    cluster = LocalCluster(
        cfg,
        tmp_path / "cluster",
        master_args=["--quiet", "--round-deadline", "20", "--pace", "0.3"],
    )
    try:
        cluster.start_all()
        wait_for_round(cluster.target, 2)
        flood = subprocess.Popen(
            [sys.executable, "-m", "adversary.flood", "--master", cluster.target]
            + ["--streams", str(STREAMS), "--connections", str(CONNECTIONS)]
            + ["--hold", str(HOLD_S)],
            cwd=REPO_ROOT,
            env=cluster.env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            times = probe_while(flood, cluster.target)
            out, _ = flood.communicate(timeout=FLOOD_TIMEOUT_S)
        finally:
            if flood.poll() is None:
                flood.kill()
        during = wait_for_round(cluster.target, 0)
        summary = cluster.wait(240.0)
    finally:
        cluster.stop()
    result = json.loads(out)
    figures = {
        k: (len(v), round(p99(v) * 1000, 1), round(max(v) * 1000, 1)) for k, v in times.items()
    }
    print(f"flood {result['seconds']:.1f} s, probes (count, p99 ms, max ms): {figures}")
    print(f"flood answers: {result['answers']}")
    assert during < STEPS, "the flood must overlap the rounds"
    for name, samples in times.items():
        assert len(samples) >= 50, name
        assert p99(samples) < P99_LIMIT_S, (name, figures)
    answers = Counter(result["answers"])
    assert sum(answers.values()) == STREAMS
    told: Counter[str] = Counter()
    for key, count in answers.items():
        code, reason = key.split(":")
        assert code != "OK", key
        told[reason] += count
    # header streams: refused at their first message, or at once when over a cap; silent
    # streams: held until the idle bound (slow_stream), or refused at once when over a cap
    assert set(told) == {"unauthenticated", "too_many_streams", "slow_stream"}, told
    assert told["slow_stream"] <= CONNECTIONS * StreamLimits().uploads_per_peer
    assert Counter(summary["rejected"]) == told  # counted once, under the reason told
    assert summary["steps"] == STEPS and summary["abstentions"] == 0
    assert summary["model_sha256"] == reference_sha(cfg, tmp_path)
