"""Behaviour lock: every locked configuration trains to its recorded ``model_sha256`` on every
transport (recorded before the round/loop redesign; see ``tests/contract/lock.py``).

The single-process loop and the in-process hub run every case in the default tier; gRPC (real
processes) and MPI (real ``mpirun``) run ``E2E_CASES`` in the e2e tier (one case per scheme,
decoder, fault and data path, which keeps CI's e2e tier short), and every case with
``ELECTION_FULL_LOCK=1`` (as recorded before the one-loop redesign landed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.contract.lock import (
    CASES,
    _inprocess,
    config,
    float_platform,
    load_lock,
    lock_entries,
    missing_data,
)
from tests.contract.runners import RUNNERS

LOCK = load_lock()
ENTRIES = lock_entries()
DEFAULT_TIER = {"inprocess", "inprocess-hub"}
E2E_CASES = (  # one per scheme, decoder, fault and data path over the real transports
    "majority-ternary-quorum-directional",
    "majority-bernoulli-plain-abstain",
    "majority-bernoulli-crash",
    "signed-sum-bernoulli-reverse",
    "median-uncoded-reverse",
    "sign-of-sum-bernoulli-worker-noise",
    "fashion-bernoulli-omniscient-partition-momentum",
    "amazon-seed-protocol-partition-momentum",
)
FULL_LOCK = os.environ.get("ELECTION_FULL_LOCK") == "1"


def _params() -> list[Any]:
    out = []
    for transport in ["inprocess", *RUNNERS]:
        marks = [] if transport in DEFAULT_TIER else [pytest.mark.e2e]
        every = transport in DEFAULT_TIER or FULL_LOCK
        for case in CASES if every else E2E_CASES:
            why = missing_data(case)
            marks_case = [*marks, pytest.mark.skipif(bool(why), reason=why)] if why else marks
            out.append(pytest.param(transport, case, marks=marks_case, id=f"{transport}-{case}"))
    return out


def test_every_case_has_a_recorded_digest() -> None:
    assert sorted(ENTRIES) == sorted(CASES), "run `python -m tests.contract.lock --write`"
    assert set(E2E_CASES) <= set(CASES)


@pytest.mark.parametrize(("transport", "case"), _params())
def test_locked_configuration_trains_to_its_recorded_digest(
    transport: str, case: str, tmp_path: Path
) -> None:
    if not LOCK:
        pytest.skip(
            f"no digests recorded on {float_platform()}: python -m tests.contract.lock --write"
        )
    if case not in LOCK:
        pytest.fail(f"{case} has no recorded digest on {float_platform()}")
    cfg = config(case, tmp_path)
    summary = (
        _inprocess(cfg, tmp_path) if transport == "inprocess" else RUNNERS[transport](cfg, tmp_path)
    )
    assert summary["model_sha256"] == LOCK[case]
