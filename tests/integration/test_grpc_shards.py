"""Sharded masters on a real local cluster (docs/grpc.md, "Sharded masters"): a shard killed
mid-run and restarted from its checkpoint, shards under mutual TLS, the peer token, and the
one-line errors of a misconfigured run."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest

from master.cluster import LocalCluster
from tests.integration.grpc_helpers import (
    make_certificates,
    reference_sha,
    small_config,
    wait_for_round,
)
from wire.gen.election.v1 import election_pb2 as pb
from wire.gen.election.v1 import election_pb2_grpc as pb_grpc

RUN_TIMEOUT_S = 240.0
STOP_WITHIN_S = (
    20.0  # SIGTERM to exit: the master's grace, one peer poll and the slack of a loaded VM
)


def _start_shards(cluster: LocalCluster, ckpt: Path) -> None:
    for shard in range(cluster.shards):
        cluster.start_master(["--checkpoint-dir", str(ckpt / f"shard{shard}")], shard=shard)


def _paced_run(tmp_path: Path, cfg: Any) -> LocalCluster:
    """Two checkpointing shards and every slot, rounds paced so that a test can act mid-run."""
    cluster = LocalCluster(
        cfg,
        tmp_path / "cluster",
        master_args=["--quiet", "--round-deadline", "30", "--pace", "0.2"],
        shards=2,
    )
    try:
        _start_shards(cluster, tmp_path / "ckpt")
        for slot in range(cfg.n):
            cluster.start_slot(slot)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def test_a_killed_shard_resumes_from_its_checkpoint_and_the_run_keeps_its_model(
    tmp_path: Path,
) -> None:
    cfg = small_config(tmp_path, attack="reverse", steps=16)
    ckpt = tmp_path / "ckpt"
    cluster = _paced_run(tmp_path, cfg)
    shard1 = f"127.0.0.1:{cluster.ports[1]}"
    try:
        wait_for_round(shard1, 4)
        crashed = cluster.masters[1]
        assert crashed is not None
        crashed.kill()  # a crash between any two instructions of its round
        crashed.wait()
        cluster.start_master(["--checkpoint-dir", str(ckpt / "shard1")], shard=1)
        wait_for_round(shard1, 10)
        graceful = cluster.masters[0]
        assert graceful is not None
        graceful.send_signal(signal.SIGTERM)  # shard 0 stops, resumable
        assert graceful.wait(30) == 0
        cluster.start_master(["--checkpoint-dir", str(ckpt / "shard0")], shard=0)
        summary = cluster.wait(RUN_TIMEOUT_S)
        shards = [cluster.master_summary(s) for s in range(2)]
        slots = [cluster.slot_summary(s) for s in range(cfg.n)]
    finally:
        cluster.stop()
    expected = reference_sha(cfg, tmp_path)
    assert summary["steps"] == 16 and summary["status"] == "completed"
    assert [s["model_sha256"] for s in shards] == [expected, expected]
    assert [s["shard"] for s in shards] == [0, 1]
    assert all(s["digest"] == expected for s in slots)  # every worker's replica too


def test_a_shard_stopped_while_its_peer_is_down_exits_at_once_and_both_resume(
    tmp_path: Path,
) -> None:
    cfg = small_config(tmp_path, attack="none", steps=10)
    ckpt = tmp_path / "ckpt"
    cluster = _paced_run(tmp_path, cfg)
    try:
        wait_for_round(cluster.target, 3)
        down, waiting = cluster.masters[1], cluster.masters[0]
        assert down is not None and waiting is not None
        down.kill()  # shard 0 now waits for votes or for shard 1's part: either way it waits
        down.wait()
        waiting.send_signal(signal.SIGTERM)
        assert waiting.wait(STOP_WITHIN_S) == 0  # graceful, resumable, not held by the peer
        _start_shards(cluster, ckpt)
        summary = cluster.wait(RUN_TIMEOUT_S)
        shard1 = cluster.master_summary(1)
    finally:
        cluster.stop()
    assert summary["steps"] == 10 and summary["status"] == "completed"
    assert summary["model_sha256"] == shard1["model_sha256"] == reference_sha(cfg, tmp_path)


def test_mutual_tls_shards_verify_each_other_and_train_the_same_model(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path / "certs")
    server = [str(certs[name]) for name in ("server.pem", "server.key", "ca.pem")]
    client = [str(certs[name]) for name in ("client.pem", "client.key", "ca.pem")]
    cfg = small_config(tmp_path, attack="reverse", steps=4)
    tls = ["--tls-cert", server[0], "--tls-key", server[1], "--tls-ca", server[2]]
    cluster = LocalCluster(
        cfg,
        tmp_path / "cluster",
        master_args=["--quiet", *tls],
        client_args=["--tls-cert", client[0], "--tls-key", client[1], "--tls-ca", client[2]],
        shards=2,
    )
    try:
        cluster.start_all()
        summary = cluster.wait(RUN_TIMEOUT_S)
        shard1 = cluster.master_summary(1)
    finally:
        cluster.stop()
    expected = reference_sha(cfg, tmp_path)
    assert summary["model_sha256"] == shard1["model_sha256"] == expected


def _status(target: str) -> pb.StatusResponse:
    with grpc.insecure_channel(target) as channel:
        return pb_grpc.ElectionStub(channel).GetStatus(pb.StatusRequest(), timeout=10)


def test_shards_report_their_index_and_refuse_callers_without_the_peer_token(
    tmp_path: Path,
) -> None:
    cfg = small_config(tmp_path, attack="none", steps=4)
    cluster = LocalCluster(cfg, tmp_path / "cluster", master_args=["--quiet"], shards=3)
    try:
        for shard in range(3):
            cluster.start_master(shard=shard)
        statuses = [_status(f"127.0.0.1:{p}") for p in cluster.ports]
        with grpc.insecure_channel(cluster.target) as channel:
            stub = pb_grpc.ElectionStub(channel)
            with pytest.raises(grpc.RpcError) as refused:
                list(stub.GetShardUpdate(pb.UpdateRequest(round=0, slot=1, token="0" * 64)))
    finally:
        cluster.stop()
    assert [(s.master_shards, s.shard) for s in statuses] == [(3, 0), (3, 1), (3, 2)]
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "peer token" in (refused.value.details() or "")


def test_a_worker_given_the_shards_in_the_wrong_order_stops_with_one_line(
    tmp_path: Path,
) -> None:
    cfg = small_config(tmp_path, attack="none", steps=4)
    cluster = LocalCluster(cfg, tmp_path / "cluster", master_args=["--quiet"], shards=2)
    try:
        for shard in range(2):
            cluster.start_master(shard=shard)
        swapped = f"127.0.0.1:{cluster.ports[1]},127.0.0.1:{cluster.ports[0]}"
        proc = subprocess.run(
            [sys.executable, "-m", "worker", "--master", swapped, "--connect-timeout", "20"],
            capture_output=True,
            text=True,
            timeout=120,
            env=cluster.env,
        )
    finally:
        cluster.stop()
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "is shard 1 of 2, but it is address 0" in last, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--master-shards", "2", "--shard", "2"], "must be in [0, --master-shards = 2)"),
        (["--master-shards", "2"], "needs --shard-peers with 2 host:port"),
        (
            ["--master-shards", "2", "--shard-peers", "a:1,b:2", "--accusation", "on"],
            "the accusation and quarantine need whole votes",
        ),
    ],
)
def test_a_misconfigured_shard_stops_with_one_line(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    cmd = [sys.executable, "-m", "election", "master", "--open-join", "--quiet", "--port", "0"]
    cmd += ["--dataset", "digits", "--steps", "2", "--runs-dir", str(tmp_path / "runs"), *flags]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
