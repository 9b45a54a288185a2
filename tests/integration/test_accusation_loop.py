"""Accusation, telemetry and quarantine in the one master loop (docs/accusation.md).

Real runs on the embedded digits data: in-process, and over the real gRPC transport (master,
workers and the adversary as OS processes). A proof must name only Byzantine workers (false
proofs are a bug); the accusation must not move ``model_sha256`` when quarantine is off; a
quarantined run must train to the same model on every transport.
"""

from __future__ import annotations

import csv
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from election.config import build_config
from election.errors import ConfigError
from election.flags import accusation_lines
from election.training.accusing import ACCUSATION_FILE, ACCUSATION_PLOT, WINDOW_COLUMNS
from election.training.loop import train_inprocess
from election.training.setup import prepare

BASE: dict[str, Any] = {
    "dataset": "digits",
    "num_train": 300,
    "threads": 1,
    "steps": 8,
    "eval_every": 4,
    "decoder": "plain",
}


def train(tmp: Path, **changes: Any) -> dict[str, Any]:
    cfg = build_config(BASE | {"runs_dir": str(tmp / "runs")} | changes)
    return train_inprocess(prepare(cfg), progress=False)


def rounds(summary: dict[str, Any]) -> list[dict[str, str]]:
    with (Path(summary["run_dir"]) / ACCUSATION_FILE).open() as f:
        return list(csv.DictReader(f))


def proofs_per_round(summary: dict[str, Any]) -> list[set[int]]:
    return [{int(j) for j in row["proven"].split(";") if j} for row in rounds(summary)]


def test_reverse_attacker_is_proven_and_recorded(tmp_path: Path) -> None:
    summary = train(tmp_path, n=5, b=1, code="deterministic", attack="reverse")
    acc, tele = summary["accusation"], summary["telemetry"]
    byzantine = set(summary["byzantine"])
    assert acc["proven"] == sorted(byzantine)  # replicated rows convict a reversing worker
    assert acc["first_proof_round"] == {str(j): 0 for j in byzantine}
    assert acc["rounds"] == 8 and acc["quarantine"] == "off" and acc["quarantined_votes"] == 0
    assert all(p <= byzantine for p in proofs_per_round(summary))
    # scores: the liar disagrees with the output far more than any honest worker
    scores = acc["final_scores"]
    liar = max(byzantine)
    assert all(scores[liar] > 2 * scores[j] for j in range(5) if j not in byzantine)
    assert tele["rounds"] == 8 and sum(tele["margin_hist"]) > 0
    for name in ("dead_share_mean", "tie_share_mean", "movable_share_mean"):
        assert 0.0 <= tele[name] <= 1.0
    run_dir = Path(summary["run_dir"])
    with (run_dir / "metrics.csv").open() as f:
        metrics = list(csv.DictReader(f))
    assert set(WINDOW_COLUMNS) <= set(metrics[0])
    assert [m["proven"] for m in metrics] == [str(liar), str(liar)]
    assert (run_dir / ACCUSATION_PLOT).stat().st_size > 0
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk["accusation"]["proven"] == acc["proven"]
    lines = accusation_lines(summary)
    assert lines[0].startswith(f"proven       {liar} (round 0)") and "movable by b=1" in lines[1]


def test_accusation_leaves_the_model_alone(tmp_path: Path) -> None:
    on = train(tmp_path, code="deterministic", attack="reverse", accusation="on")
    off = train(tmp_path, code="deterministic", attack="reverse", accusation="off")
    assert on["model_sha256"] == off["model_sha256"]
    assert "accusation" not in off and not (Path(off["run_dir"]) / ACCUSATION_FILE).exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"n": 5, "b": 1, "code": "deterministic"},
        {"n": 5, "b": 1, "code": "ternary"},
        {"n": 9, "b": 2, "code": "bernoulli", "r": 3.0},
        {"n": 9, "b": 2, "code": "deterministic", "decoder": "quorum"},
        {"n": 5, "b": 1, "code": "uncoded"},
    ],
    ids=lambda c: f"n{c['n']}-{c['code']}",
)
def test_honest_runs_prove_nobody(tmp_path: Path, changes: dict[str, Any]) -> None:
    summary = train(tmp_path, attack="none", steps=6, eval_every=6, **changes)
    assert summary["accusation"]["proven"] == []
    assert all(not p for p in proofs_per_round(summary))
    assert all(r["inconsistent"] == "0" for r in rounds(summary))


@pytest.mark.parametrize("attack", ["random", "directional", "omniscient"])
def test_proofs_name_attackers_only(tmp_path: Path, attack: str) -> None:
    summary = train(tmp_path, n=9, b=2, code="bernoulli", r=3.0, attack=attack, steps=6)
    byzantine = set(summary["byzantine"])
    assert set(summary["accusation"]["proven"]) <= byzantine
    assert all(p <= byzantine for p in proofs_per_round(summary))


def test_quarantine_turns_proven_votes_into_abstentions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = train(tmp_path, code="deterministic", attack="reverse", quarantine="proven")
    acc = summary["accusation"]
    (liar,) = summary["byzantine"]
    assert acc["quarantined"] == [liar] and acc["first_proof_round"] == {str(liar): 0}
    assert acc["quarantined_votes"] == 7  # rounds 1..7 after the proof in round 0
    assert [r["quarantined"] for r in rounds(summary)] == [str(liar)] * 8
    log = [line for line in capsys.readouterr().err.splitlines() if "proven Byzantine" in line]
    assert len(log) == 1 and f"worker {liar} proven Byzantine" in log[0]
    # a perfect code: abstaining is an attack it tolerates, so the attack-free model again
    clean = train(tmp_path, code="deterministic", attack="none")
    assert clean["model_sha256"] == summary["model_sha256"]


def test_quarantine_drops_the_votes_of_a_proven_worker(tmp_path: Path) -> None:
    """On a Bernoulli code the attack moves the model, and the quarantine moves it again."""
    run = {"n": 5, "b": 1, "code": "bernoulli", "r": 3.0, "attack": "reverse"}
    held = train(tmp_path, quarantine="proven", **run)
    plain = train(tmp_path, **run)
    assert held["accusation"]["proven"] == plain["accusation"]["proven"] == held["byzantine"]
    assert held["accusation"]["quarantined_votes"] == 7 and plain["accusation"]["quarantined"] == []
    assert held["model_sha256"] != plain["model_sha256"]


def test_quarantine_needs_a_sound_accusation() -> None:
    with pytest.raises(ConfigError, match="quarantine"):
        build_config({"quarantine": "proven", "accusation": "off"})
    with pytest.raises(ConfigError, match="quarantine"):
        build_config({"quarantine": "proven", "scheme": "signed-sum", "decoder": "plain"})
    with pytest.raises(ConfigError, match="accusation"):
        build_config({"accusation": "on", "worker_noise_std": 0.1})
    assert not build_config({"scheme": "median", "code": "uncoded"}).accusation_active


def _scrape_until_proven(port_file: Path, timeout_s: float) -> str:
    """The master's /metrics once it reports a proven worker ("" if it never does)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_file.exists():
            port = int(port_file.read_text())
            url = f"http://127.0.0.1:{port}/metrics"
            try:
                text = urllib.request.urlopen(url, timeout=5).read().decode()
            except OSError:
                text = ""
            if "election_proven_workers 1" in text:
                return text
        time.sleep(0.1)
    return ""


def test_quarantine_over_grpc_matches_inprocess(tmp_path: Path) -> None:
    from master.cluster import LocalCluster

    cfg = build_config(
        BASE
        | {
            "runs_dir": str(tmp_path / "runs"),
            "code": "deterministic",
            "attack": "reverse",
            "byzantine_select": "1",  # a replicated row: its reversal is provable
            "quarantine": "proven",
            "steps": 10,
            "eval_every": 5,
        }
    )
    port_file = tmp_path / "metrics.port"
    cluster = LocalCluster(
        cfg,
        tmp_path / "cluster",
        master_args=[
            "--quiet",
            "--round-deadline",
            "15",
            "--metrics-port",
            "0",
            "--metrics-port-file",
            str(port_file),
            "--pace",
            "0.3",  # rounds slow enough to scrape the endpoint mid-run
        ],
    )
    try:
        cluster.start_all()
        text = _scrape_until_proven(port_file, 120.0)
        summary = cluster.wait(240.0)
    finally:
        cluster.stop()
    assert 'election_worker_proven{worker="1"} 1' in text
    assert 'election_worker_proven{worker="0"} 0' in text
    assert "election_quarantined_workers 1" in text and "election_movable_share" in text
    acc = summary["accusation"]
    assert acc["proven"] == [1] and acc["quarantined"] == [1] and acc["quarantined_votes"] == 9
    events = [
        json.loads(line)
        for line in (tmp_path / "cluster" / "master.log").read_text().splitlines()
        if line.startswith("{")
    ]
    proofs = [e for e in events if e.get("event") == "proven_byzantine"]
    assert [(e["worker"], e["round"]) for e in proofs] == [(1, 0)]
    reference = train_inprocess(
        prepare(cfg.replace(runs_dir=str(tmp_path / "ref"))), progress=False
    )
    assert summary["model_sha256"] == reference["model_sha256"]
    assert summary["accusation"]["final_scores"] == reference["accusation"]["final_scores"]


def test_a_restarted_master_keeps_its_quarantine(tmp_path: Path) -> None:
    """SIGTERM mid-run, restart from the checkpoint: the quarantine, first proof and scores
    continue as if the master had never stopped (the in-process run's)."""
    import signal

    from master.cluster import LocalCluster
    from tests.integration.grpc_helpers import wait_for_round

    run = {"code": "deterministic", "attack": "reverse", "byzantine_select": "1"}
    cfg = build_config(
        BASE | {"runs_dir": str(tmp_path / "runs"), "quarantine": "proven", "steps": 12} | run
    )
    args = ["--quiet", "--round-deadline", "15", "--pace", "0.2"]
    ckpt = ["--checkpoint-dir", str(tmp_path / "ckpt"), "--checkpoint-every", "1"]
    cluster = LocalCluster(cfg, tmp_path / "cluster", master_args=args + ckpt)
    try:
        cluster.start_all()
        wait_for_round(cluster.target, 4)
        assert cluster.master is not None
        cluster.master.send_signal(signal.SIGTERM)  # graceful: exits 0, resumable
        assert cluster.master.wait(30) == 0
        cluster.start_master()
        summary = cluster.wait(240.0)
    finally:
        cluster.stop()
    reference = train_inprocess(
        prepare(cfg.replace(runs_dir=str(tmp_path / "ref"))), progress=False
    )
    acc = summary["accusation"]
    assert acc["first_proof_round"] == {"1": 0} and acc["quarantined"] == [1]
    assert acc["quarantined_votes"] == reference["accusation"]["quarantined_votes"] == 11
    assert acc["final_scores"] == reference["accusation"]["final_scores"]
    assert summary["model_sha256"] == reference["model_sha256"]
    # the per-round series continue across the restart: one row per round, the whole run's
    # telemetry, and the metrics window that the restart cut
    assert acc["rounds"] == 12 and [int(r["step"]) for r in rounds(summary)] == list(range(12))
    assert summary["telemetry"] == reference["telemetry"]
    assert window_columns(summary) == window_columns(reference)


def window_columns(summary: dict[str, Any]) -> list[list[str]]:
    with (Path(summary["run_dir"]) / "metrics.csv").open() as f:
        return [[row[c] for c in WINDOW_COLUMNS] for row in csv.DictReader(f)]


def test_a_resumed_watch_reads_the_series_back_and_drops_redone_rounds(tmp_path: Path) -> None:
    """The rounds before the resume round come back from accusation.csv; the rows after it
    (rounds the master will redo) and a row torn by a crash are dropped from the file."""
    from election.training.accusing import AccusationWatch

    summary = train(tmp_path, n=5, b=1, code="deterministic", attack="reverse")  # 8 rounds
    run_dir = Path(summary["run_dir"])
    path = run_dir / ACCUSATION_FILE
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines) + "8,0.1,10")  # a row torn mid-write
    cfg = build_config(BASE | {"runs_dir": str(tmp_path / "runs"), "n": 5, "b": 1,
                               "code": "deterministic", "attack": "reverse"})  # fmt: skip
    watch = AccusationWatch(prepare(cfg), run_dir)
    watch.restore({}, first_round=6)
    watch.close()
    assert path.read_text() == "".join(lines[:7])  # the header and rounds 0-5
    kept = rounds(summary)
    assert watch.steps == list(range(6))
    assert [round(s[0], 6) for s in watch.shares] == [float(r["dead_share"]) for r in kept]
    hist = sum(np.array(r["margin_hist"].split(";"), dtype=np.int64) for r in kept)
    assert watch.margin_hist.tolist() == hist.tolist()
    assert watch.scores[-1].tolist() == [float(kept[-1][f"score_{j}"]) for j in range(5)]
    assert len(watch._window) == 2  # rounds 4 and 5: after the evaluation at round 4
    assert watch.window_row()["inconsistent_rounds"] == sum(
        int(r["inconsistent"]) > 0 for r in kept[4:]
    )


@pytest.mark.e2e
def test_quarantine_over_mpi_matches_inprocess(tmp_path: Path) -> None:
    """Real `mpirun -n 6 election mpi`: rank 0's loop proves, quarantines, and agrees."""
    from tests.contract.runners import run_mpi

    run = {"code": "deterministic", "attack": "reverse", "quarantine": "proven", "steps": 6}
    cfg = build_config(BASE | {"runs_dir": str(tmp_path / "ref")} | run)
    summary = run_mpi(cfg.replace(transport="mpi"), tmp_path)
    reference = train_inprocess(prepare(cfg), progress=False)
    assert summary["accusation"]["proven"] == reference["byzantine"]
    assert summary["accusation"]["quarantined_votes"] == 5
    assert summary["model_sha256"] == reference["model_sha256"]
    assert summary["accusation"]["final_scores"] == reference["accusation"]["final_scores"]
