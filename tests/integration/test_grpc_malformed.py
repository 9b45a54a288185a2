"""Hundreds of malformed, stale, replayed, duplicated, oversized, unauthenticated and wrong-slot
messages mixed with honest traffic: each is refused with its status code and counted by the
master, the master keeps serving, and the model equals the clean run's (docs/design.md Sec. 9)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from adversary.faults import EXPECTED_CODES, NEEDS_EARLIER_ROUND
from master.cluster import LocalCluster
from tests.integration.grpc_helpers import reference_sha, small_config

REPEAT, STEPS = 3, 8
REASON = {  # (fault, status code) -> the master's rejection reason
    ("garbage", "INVALID_ARGUMENT"): "malformed",
    ("wrong_length", "INVALID_ARGUMENT"): "wrong_length",
    ("stale", "FAILED_PRECONDITION"): "stale_round",
    ("future", "FAILED_PRECONDITION"): "future_round",
    ("wrong_run", "FAILED_PRECONDITION"): "wrong_run",
    ("replay", "FAILED_PRECONDITION"): "stale_round",
    ("duplicate", "ALREADY_EXISTS"): "duplicate",
    ("duplicate", "FAILED_PRECONDITION"): "stale_round",
    ("other_slot", "PERMISSION_DENIED"): "wrong_slot",
    ("no_token", "UNAUTHENTICATED"): "unauthenticated",
    ("bad_token", "UNAUTHENTICATED"): "unauthenticated",
    ("oversized", "RESOURCE_EXHAUSTED"): "oversized",
    ("bad_slot", "INVALID_ARGUMENT"): "bad_slot",
}


def test_malformed_traffic_is_refused_counted_and_leaves_the_model_unchanged(
    tmp_path: Path,
) -> None:
    cfg = small_config(tmp_path, attack="reverse", steps=STEPS)
    cluster = LocalCluster(cfg, tmp_path / "cluster", master_args=["--quiet"])
    (byzantine,) = cluster.byzantine
    try:
        cluster.start_master()
        for slot in range(cfg.n):
            extra = ["--fault", "all", "--fault-repeat", str(REPEAT)] if slot == byzantine else []
            cluster.start_slot(slot, extra=extra)
        summary = cluster.wait(240.0)
        answers = Counter(cluster.slot_summary(byzantine)["fault_answers"])
    finally:
        cluster.stop()
    per_fault: Counter[str] = Counter()
    expected_rejections: Counter[str] = Counter()
    for key, count in answers.items():
        fault, code = key.split(":")
        assert code in EXPECTED_CODES[fault], key
        per_fault[fault] += count
        expected_rejections[REASON[fault, code]] += count
    for fault in EXPECTED_CODES:
        assert per_fault[fault] == REPEAT * (STEPS - (fault in NEEDS_EARLIER_ROUND)), fault
    assert sum(answers.values()) >= 250
    rejected = Counter(summary["rejected"])
    rejected["stale_round"] += rejected.pop("finished", 0)  # a duplicate after the last round
    assert rejected == expected_rejections
    assert summary["abstentions"] == 0
    assert summary["model_sha256"] == reference_sha(cfg, tmp_path)
