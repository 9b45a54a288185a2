"""One grid cell in this process: a completed record, and failures recorded, not raised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from election import attacks, notices
from election.attacks import Attack, AttackContext
from election.errors import ConfigError
from election.grid.cells import cell_key, read_record
from election.grid.runner import run_cell
from election.grid.spec import cell_config

BASE = {"dataset": "digits", "num_train": 60, "steps": 2, "eval_every": 2, "n": 5, "b": 1}


class Unwired(Attack):
    """Stands in for a sign-native attack the round loop does not feed yet."""

    name = "unwired"

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        raise ConfigError("attack 'unwired' needs the round's honest messages")


class Buggy(Attack):
    name = "buggy"

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        raise RuntimeError("an honest bug")


@pytest.fixture(autouse=True)
def _own_notices(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_cell resets the warning registry (it normally runs in a worker process): give it
    a private one here so this test process's state is left as it was."""
    monkeypatch.setattr(notices, "_SEEN", [])
    monkeypatch.setattr(notices, "_SILENT", [False])


def _run(tmp_path: Path, attack: str) -> dict:
    cfg = cell_config(BASE, {"attack": attack})
    key = cell_key(cfg)
    record = run_cell(str(tmp_path), key, 3, cfg.to_json_dict())
    assert read_record(tmp_path, key) == json.loads(json.dumps(record))  # on disk, the same
    return record


def test_a_completed_cell_records_its_result(tmp_path: Path) -> None:
    record = _run(tmp_path, "reverse")
    assert record["status"] == "completed" and record["index"] == 3
    assert record["metric"] == "accuracy" and 0.0 <= record["final"] <= 1.0
    assert record["steps"] == 2 and record["r_eff"] == pytest.approx(3.8)  # n = 5 deterministic
    summary = json.loads((tmp_path / "cells" / record["key"] / "summary.json").read_text())
    assert summary["model_sha256"] == record["model_sha256"]


def test_a_config_error_at_the_first_round_fails_the_cell_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(attacks.ATTACKS, "unwired", Unwired)
    record = _run(tmp_path, "unwired")
    assert record["status"] == "failed"
    assert record["error"] == "attack 'unwired' needs the round's honest messages"
    assert not (tmp_path / "cells" / record["key"] / "traceback.txt").exists()


def test_an_unexpected_exception_fails_only_the_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(attacks.ATTACKS, "buggy", Buggy)
    record = _run(tmp_path, "buggy")
    assert record["status"] == "failed" and record["error"] == "RuntimeError: an honest bug"
    trace = (tmp_path / "cells" / record["key"] / "traceback.txt").read_text()
    assert "an honest bug" in trace and "Traceback" in trace


def test_a_rerun_clears_what_a_killed_attempt_left(tmp_path: Path) -> None:
    cfg = cell_config(BASE, {"attack": "none"})
    key = cell_key(cfg)
    stale = tmp_path / "cells" / key
    stale.mkdir(parents=True)
    (stale / "metrics.csv").write_text("step,value\n999,0.0\n")
    record = run_cell(str(tmp_path), key, 0, cfg.to_json_dict())
    assert record["status"] == "completed"
    assert "999" not in (stale / "metrics.csv").read_text()
    assert not (tmp_path / "cells" / f"{key}-2").exists()  # the same folder, not a new one
