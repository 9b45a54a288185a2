"""The sign-native attacks inside the one round loop do what their docstrings say.

Oracle for every round: the same configuration without an attack (same seed, same replica),
whose ballots are every worker's honest vote; a worker node computing the same slot on its own
(what gRPC and MPI run) must send the same message as the shared in-process path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from election.attacks import SIGN_NATIVE
from election.config import TrainConfig, build_config
from election.errors import ConfigError
from election.sign_attacks import optimal_messages, poisoned_dataset
from election.sign_attacks.colluding import decode_counts
from election.training.loop import InProcessSystem, train_inprocess
from election.training.nodes import WorkerNode
from election.training.setup import Setup, prepare
from election.transport.base import Ballot
from election.votes.torch_ops import unpack_to_torch
from election_cli.main import main

QUICK: dict[str, Any] = {
    "dataset": "digits",
    "num_train": 200,
    "n": 5,
    "b": 1,
    "code": "bernoulli",
    "r": 2.0,
    "steps": 3,
    "eval_every": 3,
    "threads": 1,
    "seed": 3,
    "decoder": "plain",
}


def cfg_of(tmp_path: Path, **changes: Any) -> TrainConfig:
    return build_config(QUICK | {"runs_dir": str(tmp_path / "runs")} | changes)


def votes_of(setup: Setup, ballots: list[Ballot | None]) -> np.ndarray:
    """(n, d) int8: the ballots' votes unpacked."""
    rows = []
    for ballot in ballots:
        assert ballot is not None and ballot.vote is not None
        vote = ballot.vote
        tensor = vote if isinstance(vote, torch.Tensor) else unpack_to_torch(vote, setup.device)
        rows.append(tensor.to(torch.int8).numpy())
    return np.stack(rows)


def one_round(cfg: TrainConfig, step: int = 0) -> tuple[Setup, np.ndarray, np.ndarray]:
    """(setup, honest votes, sent votes) of round ``step`` from the initial model: (n, d) int8."""
    setup = prepare(cfg)
    sent = votes_of(setup, InProcessSystem(setup).gather(step, 0.0))
    clean = prepare(cfg.replace(attack="none"))
    honest = votes_of(clean, InProcessSystem(clean).gather(step, 0.0))
    return setup, honest, sent


def assert_nodes_send_the_same(setup: Setup, sent: np.ndarray, step: int = 0) -> None:
    """Each Byzantine worker node, computing alone, sends what the shared path sent."""
    for j in setup.byzantine_at(step):
        message = WorkerNode(setup, j).vote(step)
        assert message is not None
        assert np.array_equal(message.numpy(), sent[j]), f"slot {j}"


def test_margin_flips_exactly_the_low_margin_coordinates_of_the_rounds_honest_votes(
    tmp_path: Path,
) -> None:
    setup, honest, sent = one_round(cfg_of(tmp_path, attack="margin", n=9, b=2))
    byz = list(setup.byzantine)
    total = honest.astype(np.int32).sum(axis=0)  # (d,) S
    weak = (total != 0) & (np.abs(total) <= 2 * len(byz))
    assert 0 < weak.sum() < weak.size
    for j in range(setup.cfg.n):
        expected = np.where(weak, -np.sign(total), honest[j]) if j in byz else honest[j]
        assert np.array_equal(sent[j], expected), f"slot {j}"
    changed = np.sign(sent.astype(np.int32).sum(axis=0)) != np.sign(total)
    assert changed.any() and not (changed & ~weak).any()  # the output moves only where weak
    assert_nodes_send_the_same(setup, sent)


def test_mimic_sends_the_vote_of_an_honest_worker_with_another_row(tmp_path: Path) -> None:
    setup, honest, sent = one_round(cfg_of(tmp_path, attack="mimic"))
    (j,) = setup.byzantine
    g = setup.matrix
    m = next(k for k in range(setup.cfg.n) if k != j and (g[k] != g[j]).any())
    assert np.array_equal(sent[j], honest[m]) and not np.array_equal(sent[j], honest[j])
    assert_nodes_send_the_same(setup, sent)


@pytest.mark.parametrize("decoder", ["plain", "quorum"])
def test_colluders_send_the_optimal_joint_messages_and_beat_omniscient(
    tmp_path: Path, decoder: str
) -> None:
    attack = "collude" if decoder == "plain" else "collude-quorum"
    cfg = cfg_of(tmp_path, attack=attack, n=9, b=2, decoder=decoder)
    setup, honest, sent = one_round(cfg)
    byz = list(setup.byzantine)
    q = cfg.b + 1
    assert np.array_equal(sent[byz], optimal_messages(honest, byz, decoder=decoder, q=q))
    _, _, omni = one_round(cfg.replace(attack="omniscient"))

    def output(votes: np.ndarray) -> np.ndarray:
        return decode_counts((votes > 0).sum(0), (votes < 0).sum(0), decoder=decoder, q=q)

    reference = output(honest)
    changed = int((output(sent) != reference).sum())
    assert changed >= int((output(omni) != reference).sum()) and changed > 0
    assert_nodes_send_the_same(setup, sent)


def test_stochastic_flip_negates_about_rho_of_the_honest_coordinates(tmp_path: Path) -> None:
    setup, honest, sent = one_round(cfg_of(tmp_path, attack="stochastic"))
    (j,) = setup.byzantine
    live = honest[j] != 0
    assert np.array_equal(np.abs(sent[j]), np.abs(honest[j]))  # flips only, no new zeros
    share = float((sent[j][live] == -honest[j][live]).mean())
    assert abs(share - 0.75) < 0.05, share
    assert_nodes_send_the_same(setup, sent)


def test_label_flip_sends_the_honest_protocol_on_flipped_labels(tmp_path: Path) -> None:
    cfg = cfg_of(tmp_path, attack="label-flip")
    setup, honest, sent = one_round(cfg)
    (j,) = setup.byzantine
    clean = prepare(cfg.replace(attack="none"))
    poisoned = prepare(cfg.replace(attack="none"), dataset=poisoned_dataset(clean.dataset))
    ballots = InProcessSystem(poisoned).gather(0, 0.0)
    flipped = votes_of(poisoned, ballots)
    assert np.array_equal(sent[j], flipped[j]) and not np.array_equal(sent[j], honest[j])
    others = [k for k in range(cfg.n) if k != j]
    assert np.array_equal(sent[others], honest[others])
    own = InProcessSystem(setup).gather(0, 0.0)[j]
    assert own is not None and own.losses == ballots[j].losses  # losses on flipped labels too
    assert_nodes_send_the_same(setup, sent)
    attacked = train_inprocess(setup, progress=False)
    assert attacked["model_sha256"] != train_inprocess(clean, progress=False)["model_sha256"]


def test_mobile_adversary_attacks_from_the_rounds_own_set(tmp_path: Path) -> None:
    cfg = cfg_of(tmp_path, attack="reverse", byzantine_select="mobile", n=7, b=2, steps=6)
    seen = set()
    for step in range(4):
        setup, honest, sent = one_round(cfg, step)
        byz = setup.byzantine_at(step)
        seen.add(byz)
        for j in range(cfg.n):
            assert np.array_equal(sent[j], -honest[j] if j in byz else honest[j]), (step, j)
        assert_nodes_send_the_same(setup, sent, step)
        honest_slot = next(k for k in range(cfg.n) if k not in byz)
        node = WorkerNode(setup, honest_slot, byzantine=True)  # an adversary outside its round
        vote = node.vote(step)
        assert vote is not None and np.array_equal(vote.numpy(), honest[honest_slot])
    assert len(seen) > 1


def test_mobile_refuses_partition_momentum_in_one_line() -> None:
    with pytest.raises(ConfigError, match="byzantine_select='mobile' needs optimizer"):
        build_config(QUICK | {"byzantine_select": "mobile", "optimizer": "partition-momentum"})


@pytest.mark.parametrize("attack", SIGN_NATIVE)
def test_election_train_runs_every_sign_native_attack(
    attack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "--dataset", "digits", "--steps", "3", "--n", "5", "--b", "1"]
    args += ["--attack", attack, "--num-train", "200", "--runs-dir", str(tmp_path), "--json"]
    assert main([*args, "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 3 and len(summary["byzantine"]) == 1
