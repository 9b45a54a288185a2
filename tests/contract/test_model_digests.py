"""Behaviour lock: every locked configuration trains to its recorded ``model_sha256`` on every
transport (recorded before the round/loop redesign; see ``tests/contract/lock.py``).

The single-process loop and the in-process hub run in the default tier; gRPC (real processes)
and MPI (real ``mpirun``) in the e2e tier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.contract.lock import CASES, _inprocess, config, load_lock, missing_data
from tests.contract.runners import RUNNERS

LOCK = load_lock()
DEFAULT_TIER = {"inprocess", "inprocess-hub"}


def _params() -> list[Any]:
    out = []
    for transport in ["inprocess", *RUNNERS]:
        marks = [] if transport in DEFAULT_TIER else [pytest.mark.e2e]
        for case in CASES:
            why = missing_data(case)
            marks_case = [*marks, pytest.mark.skipif(bool(why), reason=why)] if why else marks
            out.append(pytest.param(transport, case, marks=marks_case, id=f"{transport}-{case}"))
    return out


def test_every_case_has_a_recorded_digest() -> None:
    assert sorted(LOCK) == sorted(CASES), "run `python -m tests.contract.lock --write`"


@pytest.mark.parametrize(("transport", "case"), _params())
def test_locked_configuration_trains_to_its_recorded_digest(
    transport: str, case: str, tmp_path: Path
) -> None:
    if case not in LOCK:
        pytest.fail(f"{case} has no recorded digest")
    cfg = config(case, tmp_path)
    summary = (
        _inprocess(cfg, tmp_path) if transport == "inprocess" else RUNNERS[transport](cfg, tmp_path)
    )
    assert summary["model_sha256"] == LOCK[case]
