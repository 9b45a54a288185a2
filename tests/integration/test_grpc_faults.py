"""Crashes on a real local cluster (docs/design.md Sec. 9): a killed worker, a killed master."""

from __future__ import annotations

import signal
from pathlib import Path

from master.cluster import LocalCluster
from tests.integration.grpc_helpers import reference_sha, small_config, wait_for_round

RUN_TIMEOUT_S = 240.0


def test_killed_worker_costs_abstentions_until_it_rejoins_resyncs_and_finishes(
    tmp_path: Path,
) -> None:
    cfg = small_config(tmp_path, attack="none", steps=60)
    cluster = LocalCluster(
        cfg,
        tmp_path / "cluster",
        master_args=["--quiet", "--round-deadline", "1.0", "--pace", "0.1"],
    )
    try:
        cluster.start_all()
        wait_for_round(cluster.target, 4)
        cluster.slots[1].kill()
        cluster.slots[1].wait()
        killed_at = wait_for_round(cluster.target, 6)  # rounds close at their deadline
        cluster.start_slot(1)
        summary = cluster.wait(RUN_TIMEOUT_S)
        rejoined = cluster.slot_summary(1)
    finally:
        cluster.stop()
    assert summary["steps"] == 60 and summary["status"] == "completed"
    assert summary["abstentions"] >= 2
    assert killed_at >= 6
    assert rejoined["counters"]["resyncs"] >= 1
    assert rejoined["digest"] == summary["model_sha256"]  # the rejoined replica is in sync
    for slot in (0, 2):
        assert cluster.slot_summary(slot)["digest"] == summary["model_sha256"]


def test_master_restarts_from_its_checkpoint_and_trains_the_same_model(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, attack="reverse", steps=24)
    ckpt = tmp_path / "ckpt"
    cluster = LocalCluster(
        cfg,
        tmp_path / "cluster",
        master_args=[
            "--quiet",
            "--round-deadline",
            "30",
            "--pace",
            "0.1",
            "--checkpoint-dir",
            str(ckpt),
        ],
    )
    try:
        cluster.start_all()
        wait_for_round(cluster.target, 5)
        assert cluster.master is not None
        cluster.master.send_signal(signal.SIGTERM)  # graceful: exits 0, resumable
        assert cluster.master.wait(30) == 0
        cluster.start_master()
        wait_for_round(cluster.target, 12)
        cluster.master.kill()  # a crash
        cluster.master.wait()
        cluster.start_master()
        summary = cluster.wait(RUN_TIMEOUT_S)
    finally:
        cluster.stop()
    assert summary["steps"] == 24 and summary["status"] == "completed"
    assert summary["abstentions"] == 0
    assert summary["model_sha256"] == reference_sha(cfg, tmp_path)
    assert (ckpt / "master.ckpt").is_file()
    rows = (Path(summary["run_dir"]) / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["10", "20", "24"]
