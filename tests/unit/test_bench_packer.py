"""`election bench packer`: the torch packer agrees with the numpy oracle for the three wire
encodings, and reports it in one JSON object (scripts/gpu-check.sh runs it on the GPU)."""

from __future__ import annotations

import json

import pytest

from election_cli import main as cli


def test_bench_packer_compares_every_encoding(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "packer", "--d", "100003", "--repeat", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["all_same"] is True and result["device"] == "cpu" and result["d"] == 100003
    assert [c["zero_kind"] for c in result["cases"]] == ["NONE", "INDICES", "MASK"]
    assert all(c["torch_ms"] > 0 and c["numpy_ms"] > 0 for c in result["cases"])


def test_bench_packer_without_cuda_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert cli.main(["bench", "packer", "--device", "cuda", "--d", "64"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == "election: error: device='cuda' requested but CUDA is not available on this machine"
    )
