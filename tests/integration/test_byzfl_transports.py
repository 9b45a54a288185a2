"""``--scheme byzfl:NAME`` over every transport gives the single-process model.

Real processes: the gRPC local cluster (master, workers, an adversary on loopback) and real
``mpirun``; both need the optional extra on every node (they share this venv). Runs in CI's
ByzFL tier, which installs the extra; skipped where it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from election.config import build_config
from tests.byzfl_support import need_byzfl
from tests.contract.lock import _inprocess
from tests.contract.runners import RUNNERS, SHARDED

CASES = {
    "krum": {"scheme": "byzfl:krum", "attack": "reverse"},  # stateless
    "centered-clipping": {"scheme": "byzfl:centered-clipping", "attack": "random"},  # stateful
    "alie": {"scheme": "byzfl:trimmed-mean", "attack": "byzfl:alie"},  # ByzFL's attack, round view
}
BASE = {
    "dataset": "digits",
    "num_train": 300,
    "threads": 1,
    "n": 5,
    "b": 1,
    "code": "bernoulli",
    "r": 2.0,
    "batch_size": 60,
    "steps": 4,
    "eval_every": 2,
    "seed": 4,
}


# ByzFL's aggregators are not coordinate-wise (Krum, clipping), so master shards refuse them
@pytest.mark.parametrize("transport", [t for t in RUNNERS if t not in SHARDED])
@pytest.mark.parametrize("case", list(CASES))
def test_byzfl_scheme_trains_the_single_process_model(
    case: str, transport: str, tmp_path: Path
) -> None:
    need_byzfl()
    cfg = build_config(BASE | CASES[case] | {"runs_dir": str(tmp_path / "runs")})
    reference = _inprocess(cfg, tmp_path / "ref")
    workdir = tmp_path / transport
    workdir.mkdir()
    summary = RUNNERS[transport](cfg, workdir)
    assert summary["scheme"] == cfg.scheme
    assert summary["model_sha256"] == reference["model_sha256"]
