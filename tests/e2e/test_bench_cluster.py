"""`election bench cluster` for real, as root: namespaces, tbf, the master, workers and gloo
ranks as processes; JSON per point, bytes on the links, nothing of its prefix left after."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.netns import namespaces, owned
from election.votes.shards import shard_ranges

PREFIX = "ec14c"  # this test's namespaces (the sweep removes only names of this prefix)
ROOT = os.geteuid() == 0 and shutil.which("ip") is not None and shutil.which("tc") is not None
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not ROOT, reason="needs root, ip and tc")]
D = 40_000  # coordinates: tiny, the test checks shape and plumbing, not speed
POINT_KEYS = {
    "n",
    "d",
    "rate",
    "master_shards",
    "segments",
    "repeats",
    "link_probe_gbit_s",
    "project",
    "gloo_fp32",
    "gloo_fp16",
    "ratio_to_gloo_fp32",
    "ratio_to_gloo_fp16",
    "load_avg_1m",
    "cpus",
}
SYSTEM_KEYS = {
    "round_ms",
    "round_ms_all",
    "busiest_link_bytes",
    "busiest_link_node",
    "master_link_in_bytes",
    "master_link_out_bytes",
    "machine_cpu_busy",
    "bound_ms",
    "fraction_of_bound",
}


def left_over() -> list[str]:
    return [name for name in namespaces() if owned(PREFIX, name)]


def bench(tmp_path: Path, *extra: str, timeout: float = 150) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "election",
        "bench",
        "cluster",
        "--prefix",
        PREFIX,
        "--out",
        str(tmp_path / "run"),
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_one_command_measures_both_systems_and_cleans_up(tmp_path: Path) -> None:
    subprocess.run(["ip", "netns", "add", f"{PREFIX}-n7"], check=True)  # a stale leftover
    start = time.monotonic()
    proc = bench(
        tmp_path,
        "--n",
        "2,3",
        "--d",
        str(D),
        "--repeats",
        "2",
        "--rate",
        "unlimited,1gbit",
        "--probe-seconds",
        "0.3",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert time.monotonic() - start < 120
    points = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert [(p["n"], p["rate"]) for p in points] == [
        (2, "unlimited"),
        (2, "1gbit"),
        (3, "unlimited"),
        (3, "1gbit"),
    ]
    payload = (D + 7) // 8  # sign bytes of one vote and of one update
    for p in points:
        assert set(p) == POINT_KEYS and p["d"] == D and p["master_shards"] == 1
        n, project = p["n"], p["project"]
        for system in (project, p["gloo_fp32"], p["gloo_fp16"]):
            assert set(system) >= SYSTEM_KEYS
            assert system["round_ms"] > 0 and len(system["round_ms_all"]) == 2
        # every vote entered and every update left through node 0's link (headers on top)
        assert n * payload <= project["master_link_in_bytes"] < 1.2 * n * payload + 20_000
        assert n * payload <= project["master_link_out_bytes"] < 1.2 * n * payload + 20_000
        assert project["busiest_link_node"] == 0 and project["master_cpu_ms_per_worker"] > 0
        ring = 2 * (n - 1) / n * D * 4  # fp32 ring bytes per link and direction
        assert ring <= p["gloo_fp32"]["busiest_link_bytes"] < 1.3 * ring + 20_000
        assert p["gloo_fp32"]["master_link_in_bytes"] < 1000  # gloo never touches node 0
        assert p["ratio_to_gloo_fp32"] == pytest.approx(
            project["round_ms"] / p["gloo_fp32"]["round_ms"], rel=1e-2
        )
        if p["rate"] == "unlimited":
            assert project["bound_ms"] is None and project["fraction_of_bound"] is None
        else:
            assert project["bound_ms"] == pytest.approx(2 * n * payload * 8 / 1e9 * 1000, rel=1e-3)
            assert 0 < project["fraction_of_bound"] <= 1.05
            assert 0.5 < p["link_probe_gbit_s"] < 1.05  # tbf holds the link at 1 Gbit/s
    assert left_over() == []
    run = tmp_path / "run"
    assert json.loads((run / "config.json").read_text())["ns"] == [2, 3]
    assert len((run / "points.jsonl").read_text().splitlines()) == 4


def project_points(tmp_path: Path, n: int, *extra: str) -> list[dict]:
    """The project's points only (no gloo, no probe), 2 rounds at 1 Gbit/s; asserts success."""
    fixed = ["--n", str(n), "--d", str(D), "--repeats", "2", "--rate", "1gbit"]
    proc = bench(tmp_path, *fixed, "--probe-seconds", "0", "--no-gloo", *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.strip().splitlines()]


def test_master_shards_split_the_master_link(tmp_path: Path) -> None:
    k, n = 2, 3
    (point,) = project_points(tmp_path, n, "--master-shards", str(k))
    project = point["project"]
    assert point["master_shards"] == k and len(project["shard_cpu_ms_per_worker"]) == k
    assert all(c > 0 for c in project["shard_cpu_ms_per_worker"])
    assert project["master_cpu_ms_per_worker"] == max(project["shard_cpu_ms_per_worker"])
    (lo, hi), _ = shard_ranges(D, k)
    payload = (hi - lo) // 8  # shard 0's slice of one vote and of one update
    # shard 0's link carries n vote slices in and n update slices out, not whole votes
    assert n * payload <= project["master_link_in_bytes"] < 1.2 * n * payload + 20_000
    assert n * payload <= project["master_link_out_bytes"] < 1.2 * n * payload + 20_000
    assert project["busiest_link_node"] < k  # a shard's link (n slices > one worker's vote)
    largest = max(b - a for a, b in shard_ranges(D, k))
    assert project["bound_ms"] == pytest.approx(2 * n * -(-largest // 8) * 8 / 1e6, abs=1e-3)
    assert left_over() == []


def test_pipelined_segments_overlap_votes_in_and_updates_out(tmp_path: Path) -> None:
    segments, n = 3, 3
    points = project_points(tmp_path, n, "--segments", f"1,{segments}")
    assert [(p["master_shards"], p["segments"]) for p in points] == [(1, 1), (1, segments)]
    plain, pipelined = (p["project"] for p in points)
    payload = D // 8  # one vote and one update, whole, through node 0's link either way
    for project in (plain, pipelined):
        assert n * payload <= project["master_link_in_bytes"] < 1.2 * n * payload + 30_000
        assert n * payload <= project["master_link_out_bytes"] < 1.2 * n * payload + 30_000
        assert project["busiest_link_node"] == 0 and project["master_cpu_ms_per_worker"] > 0
    largest = max(b - a for a, b in shard_ranges(D, segments))
    assert plain["bound_ms"] == pytest.approx(2 * n * payload * 8 / 1e6, abs=1e-3)
    assert pipelined["bound_ms"] == pytest.approx(n * (payload + largest // 8) * 8 / 1e6, abs=1e-3)
    assert left_over() == []


def test_sigterm_tears_everything_down(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "election",
        "bench",
        "cluster",
        "--prefix",
        PREFIX,
        "--n",
        "2",
        "--d",
        str(D),
        "--repeats",
        "100000",
        "--rate",
        "1gbit",
        "--probe-seconds",
        "0",
        "--no-gloo",
        "--out",
        str(tmp_path / "run"),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        logs = tmp_path / "run"
        while not (logs / "worker1.log").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2.0)
        assert len(left_over()) == 4  # bridge + master + 2 workers, mid-run
        pids = [
            int(p)
            for ns in left_over()
            for p in subprocess.run(
                ["ip", "netns", "pids", ns], capture_output=True, text=True
            ).stdout.split()
        ]
        assert len(pids) == 3  # the master and the two workers
        proc.terminate()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert left_over() == []
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def readable_by_others(path: Path) -> bool:
    """Every folder above ``path`` is searchable by other users (mktemp -d folders are not)."""
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_without_root_it_is_one_line(tmp_path: Path) -> None:
    checkout = Path(__file__).resolve().parents[2]
    if not (readable_by_others(checkout) and readable_by_others(Path(sys.executable).parent)):
        pytest.skip("the checkout or its .venv is not readable by an unprivileged user")
    cmd = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        sys.executable,
        "-m",
        "election",
        "bench",
        "cluster",
        "--prefix",
        PREFIX,
        "--out",
        str(tmp_path / "x"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd="/")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        "election: error: election bench cluster needs root (it creates Linux network "
        "namespaces); run it as root"
    )
