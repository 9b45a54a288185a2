"""One contract for every transport: the same configuration gives the same model
(``model_sha256``) as the single-process loop ``train_inprocess`` (docs/design.md Sec. 3, 7).

Cases cover the three code families with attacks, both decoders (plain: the uncoded and
Bernoulli cases under auto; quorum: the deterministic cases, q = b + 1 under auto and q = 4) and
the paper flags' options; every process uses one torch thread so the arithmetic is bitwise
deterministic. Transports come from ``runners.RUNNERS``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from election.config import TrainConfig, build_config
from election.training.loop import train_inprocess
from election.training.setup import prepare
from tests.contract.runners import (
    E2E_TRANSPORTS,
    RUNNERS,
    SHARDED,
    SHARDED_CASES,
)
from tests.unit.test_augment import write_tiny_cifar

GAPPY = "file:<gappy>"  # replaced by a matrix file written in the case's folder
TINY_CIFAR = "<tiny-cifar>"  # replaced by a folder of CIFAR pickles written there
BASE = {"dataset": "digits", "num_train": 300, "steps": 6, "threads": 1, "eval_every": 3}
CASES: dict[str, dict[str, Any]] = {
    "uncoded-random": {"code": "uncoded", "attack": "random"},
    "bernoulli-reverse": {"code": "bernoulli", "r": 2.0, "attack": "reverse"},
    # decoder auto: quorum q = b + 1 for the deterministic code (the default)
    "deterministic-omniscient": {"code": "deterministic", "attack": "omniscient"},
    # the paper's flags (docs/paper.md): per-worker noise, and sign-of-sum on main.py's r = 3.8
    "worker-noise-reverse": {"code": "bernoulli", "r": 2.0, "worker_noise_std": 0.02},
    "sign-of-sum-omniscient": {
        "code": "paper-r3.8",
        "scheme": "sign-of-sum",
        "attack": "omniscient",
    },
    # the official Amazon protocol: fixed shards, partition momentum, a file with an idle
    # worker (slot 4) and an unused partition (4)
    "seed-protocol-gappy-file": {
        "protocol": "seed",
        "optimizer": "partition-momentum",
        "code": GAPPY,
        "attack": "directional",
    },
    # the official CIFAR-10 augmentation (crop + flip) on tiny real-format pickles, small CNN
    "cifar-augment": {
        "dataset": "cifar10",
        "data_root": TINY_CIFAR,
        "num_train": 0,
        "model": "cnn",
        "code": "bernoulli",
        "r": 2.0,
    },
    # the quorum decoder at the master with q = 4 of 5 votes: unlike the default b + 1 = 2 (and
    # any q <= 3, which a majority of 5 nonzero votes always reaches) it differs from the plain
    # rule within 6 steps, so a transport that dropped the decoder would fail
    "deterministic-directional-quorum": {
        "code": "deterministic",
        "attack": "directional",
        "decoder": "quorum",
        "quorum": 4,
    },
}
GAPPY_ROWS = "11000\n01100\n00110\n10010\n00000\n"  # n = 5, r = 1.6


def config(case: str, runs_dir: Path) -> TrainConfig:
    values = BASE | CASES[case] | {"runs_dir": str(runs_dir)}
    if values.get("code") == GAPPY:
        path = runs_dir / "gappy.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(GAPPY_ROWS)
        values["code"] = f"file:{path}"
    if values.get("data_root") == TINY_CIFAR:
        root = runs_dir / "cifar"
        if not root.exists():
            write_tiny_cifar(root, per_batch=10)
        values["data_root"] = str(root)
    return build_config(values)


def train_losses(summary: dict[str, Any]) -> list[str]:
    """The train_loss column of the run's metrics.csv (one entry per evaluation)."""
    with open(Path(summary["run_dir"]) / "metrics.csv") as f:
        return [row["train_loss"] for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    runs = tmp_path_factory.mktemp("reference")
    return {case: train_inprocess(prepare(config(case, runs)), progress=False) for case in CASES}


def _transport_cases() -> list[Any]:
    """(transport, case) pairs: the e2e tier runs MPI on every case and k = 3 master shards on
    its cases, the default tier k = 2 master shards on the others (runners.SHARDED_CASES)."""
    out = []
    for transport in RUNNERS:
        for case in CASES:
            if transport in SHARDED and case not in SHARDED_CASES[transport]:
                continue  # the other shard count runs this case
            heavy = transport in E2E_TRANSPORTS
            marks = [pytest.mark.e2e] if heavy else []
            out.append(pytest.param(transport, case, marks=marks, id=f"{transport}-{case}"))
    return out


@pytest.mark.parametrize(("transport", "case"), _transport_cases())
def test_transport_trains_the_same_model_as_the_single_process_loop(
    transport: str, case: str, reference: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    summary = RUNNERS[transport](config(case, tmp_path), tmp_path)
    expected = reference[case]
    assert summary["model_sha256"] == expected["model_sha256"]
    assert summary["steps"] == expected["steps"]
    assert summary["final"] == expected["final"]
    assert summary["byzantine"] == expected["byzantine"]
    assert (Path(summary["run_dir"]) / "summary.json").is_file()
    # counted alike on every transport: the votes' payload bytes and the train loss
    if transport in SHARDED:  # each shard counts the payload bytes of its own coordinates
        shards = summary["shard_summaries"]
        assert [s["model_sha256"] for s in shards] == [expected["model_sha256"]] * len(shards)
        assert [s["shard"] for s in shards] == list(range(SHARDED[transport]))
        per_shard = [s["wire_bytes_per_round"] for s in shards]
        assert all(0 < b < expected["wire_bytes_per_round"] for b in per_shard), per_shard
        # each slice picks its own zero encoding, never larger than the whole's part of it;
        # at most one byte per slice, bit-plane and vote is lost to rounding up
        k = SHARDED[transport]
        assert sum(per_shard) <= expected["wire_bytes_per_round"] + 2 * k * expected["n"]
    else:
        assert summary["wire_bytes_per_round"] == expected["wire_bytes_per_round"]
    assert train_losses(summary) == train_losses(expected)
    assert all(loss != "nan" for loss in train_losses(summary))


def test_the_quorum_case_trains_another_model_than_the_plain_decoder(
    reference: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """So the contract above would catch a transport that ignored the decoder."""
    cfg = config("deterministic-directional-quorum", tmp_path).replace(decoder="plain")
    plain = train_inprocess(prepare(cfg), progress=False)
    assert plain["model_sha256"] != reference["deterministic-directional-quorum"]["model_sha256"]
