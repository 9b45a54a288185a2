"""Every sign-native attack and the mobile adversary train to the same model on every transport.

Oracle: the single-machine fast path (``InProcessSystem``, partition signals shared). Against it:
the in-process hub (one ``WorkerNode`` thread per slot, each computing what it needs itself),
real gRPC processes (``python -m master`` + ``python -m worker`` / ``python -m adversary``, the
adversaries taking the attack by name from the run's config) and, in the e2e tier, real
``mpirun`` (and the gRPC cases outside ``GRPC_DEFAULT``). Digits, n = 5, b = 1 (2 for the
colluding mobile case), 3 rounds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from election.attacks import SIGN_NATIVE
from election.config import TrainConfig, build_config
from election.training.loop import train_inprocess
from election.training.setup import prepare
from tests.contract.runners import RUNNERS, SHARDED

QUICK: dict[str, Any] = {
    "dataset": "digits",
    "num_train": 200,
    "n": 5,
    "b": 1,
    "code": "bernoulli",  # not perfect: an attack moves the model
    "r": 2.0,
    "steps": 3,
    "eval_every": 3,
    "threads": 1,
    "seed": 3,
}
CASES: dict[str, dict[str, Any]] = {name: {"attack": name} for name in SIGN_NATIVE}
CASES["mobile-reverse"] = {"attack": "reverse", "byzantine_select": "mobile"}
CASES["mobile-collude"] = {"attack": "collude", "byzantine_select": "mobile", "b": 2}
CASES["label-flip-worker-noise"] = {
    "attack": "label-flip",
    "scheme": "sign-of-sum",
    "worker_noise_std": 0.01,
}
CASES["margin-worker-noise"] = {"attack": "margin", "worker_noise_std": 0.01, "decoder": "plain"}
E2E_TRANSPORTS = {"mpi"}
# gRPC starts n + 1 processes per case (~70 s each on 2 loaded cores): the default tier runs
# the joint (collude, b = 2 colluders in two processes), poisoned and mobile paths; e2e the rest.
GRPC_DEFAULT = {"label-flip", "mobile-collude", "mobile-reverse"}


def config(case: str, tmp_path: Path) -> TrainConfig:
    return build_config(QUICK | CASES[case] | {"runs_dir": str(tmp_path / "runs")})


def _params() -> list[Any]:
    out = []
    for transport in RUNNERS:
        if transport in SHARDED:  # master shards: the contract suite (the attacks are the workers')
            continue
        cases = CASES if transport != "grpc" else [*SIGN_NATIVE, *sorted(GRPC_DEFAULT)]
        for case in dict.fromkeys(cases):
            e2e = transport in E2E_TRANSPORTS or (transport == "grpc" and case not in GRPC_DEFAULT)
            marks = [pytest.mark.e2e] if e2e else []
            out.append(pytest.param(transport, case, marks=marks, id=f"{transport}-{case}"))
    return out


@pytest.mark.parametrize(("transport", "case"), _params())
def test_attack_trains_to_the_in_process_model(transport: str, case: str, tmp_path: Path) -> None:
    cfg = config(case, tmp_path)
    reference = train_inprocess(
        prepare(cfg.replace(runs_dir=str(tmp_path / "ref"))), progress=False
    )
    summary = RUNNERS[transport](cfg, tmp_path)
    assert summary["model_sha256"] == reference["model_sha256"]
    assert summary["byzantine"] == reference["byzantine"]


def test_mobile_set_changes_across_rounds_and_every_slot_may_attack(tmp_path: Path) -> None:
    from master.cluster import byzantine_slots

    cfg = config("mobile-reverse", tmp_path).replace(steps=8)
    setup = prepare(cfg)
    sets = [setup.byzantine_at(t) for t in range(setup.total_steps)]
    assert len(set(sets)) > 1 and all(len(s) == cfg.b for s in sets)
    assert setup.byzantine == tuple(sorted({j for s in sets for j in s}))
    assert byzantine_slots(cfg) == tuple(range(cfg.n))  # the launcher makes each an adversary
