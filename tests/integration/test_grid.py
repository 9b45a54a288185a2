"""`election grid` end to end: real worker processes on real digits, killed and resumed.

One 4-cell grid (digits, 200 training samples, 5 steps, --jobs 2) is run three times: killed
after its first finished cell, resumed (only the unfinished cells run; finished records are
untouched), and resumed again (nothing runs). A cell's model equals `election train`'s for
the same config, and a cell that fails at setup is recorded with its one line.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from election.grid.cells import CELLS_DIR, RECORD_FILE

ROOT = Path(__file__).resolve().parents[2]
BASE = {"dataset": "digits", "num_train": 200, "steps": 5, "eval_every": 5, "n": 5, "b": 1}
SPEC = {
    "name": "it",
    "base": BASE,
    "axes": {"code": ["uncoded", "deterministic"], "attack": ["none", "reverse"]},
}
KILL_WAIT_S = 300  # bound on waiting for the first finished cell on a loaded machine
RUN_TIMEOUT_S = 600  # bound on one whole grid run


def _grid(spec: Path, out: Path, *extra: str, session: bool = False) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "election", "grid", str(spec), "--out", str(out), *extra]
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=session,
    )


def _records(out: Path) -> dict[str, tuple[int, str]]:
    """key -> (mtime_ns, text) of every finished cell's record."""
    found = {}
    for path in (out / CELLS_DIR).glob(f"*/{RECORD_FILE}"):
        found[path.parent.name] = (path.stat().st_mtime_ns, path.read_text())
    return found


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "grid.csv").open() as f:
        return list(csv.DictReader(f))


def test_grid_is_killed_resumed_and_writes_its_folder(tmp_path: Path) -> None:
    spec = tmp_path / "grid.json"
    spec.write_text(json.dumps(SPEC))
    out = tmp_path / "grid"
    first = _grid(spec, out, "--jobs", "2", session=True)
    deadline = time.monotonic() + KILL_WAIT_S
    while not _records(out) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the grid and its worker processes, at once
    first.communicate()
    before = _records(out)
    assert 1 <= len(before) <= 4

    second = _grid(spec, out, "--jobs", "2")
    stdout, stderr = second.communicate(timeout=RUN_TIMEOUT_S)
    assert second.returncode == 0, stderr
    k = len(before)
    assert f"4 cells: {k} finished earlier, {4 - k} to run" in stderr
    assert "4/4 cells (0 failed)" in stderr and "eta" in stderr
    after = _records(out)
    assert set(after) >= set(before) and len(after) == 4
    assert all(after[key] == before[key] for key in before)  # finished cells not rerun

    rows = _rows(out)
    assert [r["status"] for r in rows] == ["completed"] * 4
    assert {(r["code"], r["attack"]) for r in rows} == {
        (c, a) for c in ("uncoded", "deterministic") for a in ("none", "reverse")
    }
    by = {(r["code"], r["attack"]): r for r in rows}
    assert float(by[("uncoded", "reverse")]["r_eff"]) == 1.0
    assert float(by[("deterministic", "reverse")]["r_eff"]) > 1.0
    clean = float(by[("uncoded", "none")]["final"])
    gap = float(by[("uncoded", "reverse")]["gap"])
    assert abs(float(by[("uncoded", "reverse")]["final"]) - clean - gap) < 1e-5
    assert "| code | attack |" in stdout  # the markdown table
    for name in (
        "grid.md",
        "grid.json",
        "spec.json",
        "spec-source.json",
        "heatmap-worst.png",
        "frontier.png",
        "curves-uncoded.png",
        "heatmap-attack-b-deterministic.png",
    ):
        assert (out / name).stat().st_size > 0, name  # fmt: skip

    third = _grid(spec, out, "--jobs", "2")
    _, stderr = third.communicate(timeout=RUN_TIMEOUT_S)
    assert third.returncode == 0, stderr
    assert "4 cells: 4 finished earlier, 0 to run" in stderr
    assert _records(out) == after

    # a cell's model is `election train`'s for the same resolved config
    from election.config import build_config
    from election.training.loop import train_inprocess
    from election.training.setup import prepare

    row = by[("deterministic", "reverse")]
    config = json.loads((out / CELLS_DIR / row["key"] / "config.json").read_text())["config"]
    cfg = build_config(config | {"runs_dir": str(tmp_path / "train"), "run_name": "one"})
    summary = train_inprocess(prepare(cfg), progress=False)
    assert summary["model_sha256"] == row["model_sha256"]


def test_a_failing_cell_is_recorded_and_the_others_run(tmp_path: Path) -> None:
    spec = tmp_path / "grid.toml"
    spec.write_text(
        'name = "fail"\nskip_invalid = true\n[base]\ndataset = "digits"\nnum_train = 200\n'
        'steps = 2\neval_every = 2\nn = 5\nb = 1\ncode = "uncoded"\n'
        '[axes]\nbyzantine_select = ["random", "0,1", "bad"]\nb_dummy_never = []\n'
    )
    # the spec above is invalid (unknown field): one line, exit 2, nothing run
    bad = _grid(spec, tmp_path / "g")
    _, stderr = bad.communicate(timeout=RUN_TIMEOUT_S)
    assert bad.returncode == 2 and stderr.strip().count("\n") == 0
    assert "unknown config field 'b_dummy_never'" in stderr
    assert not (tmp_path / "g").exists()

    spec.write_text(spec.read_text().replace("b_dummy_never = []\n", "n = [5, 1]\n")
                    .replace("n = 5\n", ""))  # fmt: skip
    run = _grid(spec, tmp_path / "g", "--jobs", "2")
    _, stderr = run.communicate(timeout=RUN_TIMEOUT_S)
    assert run.returncode == 1, stderr
    rows = _rows(tmp_path / "g")
    assert [r["status"] for r in rows] == ["completed", "skipped", "failed", "skipped",
                                          "failed", "skipped"]  # fmt: skip
    assert "b=1 must satisfy 0 <= b < n = 1" in rows[1]["error"]
    assert rows[2]["error"].startswith("byzantine_select='0,1' must name exactly b=1")
    assert "election: cell 2 failed: byzantine_select='0,1'" in stderr
    assert "skipping cell 1 (byzantine_select=random, n=1)" in stderr


def test_ctrl_c_stops_the_running_cell_and_keeps_the_finished_one(tmp_path: Path) -> None:
    spec = tmp_path / "grid.json"
    base = BASE | {"steps": 400, "eval_every": 200}  # long enough to be interrupted mid-cell
    spec.write_text(json.dumps({"name": "int", "base": base, "axes": {"seed": [0, 1]}}))
    out = tmp_path / "grid"
    run = subprocess.Popen(
        [sys.executable, "-m", "election", "grid", str(spec), "--out", str(out), "--jobs", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal's
    )
    deadline = time.monotonic() + KILL_WAIT_S
    while not _records(out) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C sends: the grid and its worker
    _, stderr = run.communicate(timeout=RUN_TIMEOUT_S)
    assert run.returncode == 130, stderr
    assert stderr.rstrip().endswith("election: interrupted")
    assert len(_records(out)) == 1  # the second cell was stopped, not finished, nor queued
