"""scripts/gpu-check.sh on CPU at toy sizes, so the GPU check cannot rot: every step runs,
writes its JSON, and the gRPC cluster trains the same model as the in-process run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu-check.sh"


def test_gpu_check_runs_every_step_on_cpu(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHON=sys.executable, OUT=str(tmp_path / "out"))
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--device", "cpu"],
        capture_output=True,
        text=True,
        env=env,
        timeout=480,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"  # $OUT is the output folder
    summary = json.loads((out / "summary.json").read_text())
    assert summary["passed"] == dict.fromkeys(("env", "packer", "train", "grpc", "inprocess"), True)
    assert summary["grpc_same_model_as_inprocess"] is True
    packer = json.loads((out / "packer.json").read_text())
    assert [c["zero_kind"] for c in packer["cases"]] == ["NONE", "INDICES", "MASK"]
    assert all(c["same_bytes"] and c["round_trip"] for c in packer["cases"])
    train = json.loads((out / "train.json").read_text())
    assert train["device"] == "cpu" and train["redundancy"] == pytest.approx(3.8)
    assert train["step_s"] > 0 and train["step_s_uncoded"] > 0
    grpc = json.loads((out / "grpc.json").read_text())
    assert grpc["transport"] == "grpc" and grpc["n"] == 5 and grpc["steps"] == 3


def test_unknown_argument_is_one_line() -> None:
    proc = subprocess.run(["bash", str(SCRIPT), "--gpu"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "gpu-check: unknown argument --gpu (use --device DEV, --full, --out DIR)"
    )
