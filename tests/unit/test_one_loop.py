"""The one master loop and the one worker loop, in-process, with faults.

Oracles: the single-machine fast path (``InProcessSystem``) with the same fault injected at
the master, an uninterrupted run for resume, and the master's own digest for every replica.
"""

from __future__ import annotations

import contextlib
import csv
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from election.config import TrainConfig, build_config
from election.training.distributed import MasterFeatures, run_master, train_loss
from election.training.loop import InProcessSystem, train_inprocess
from election.training.nodes import DigestMismatch, MasterNode, WorkerNode
from election.training.schemes import Update
from election.training.setup import prepare
from election.transport.base import Ballot, MasterTransport, WorkerTransport
from election.transport.inprocess import InProcessHub
from election.votes import pack_ternary
from tests.contract.runners import hub_cluster

SMALL = {
    "dataset": "digits",
    "num_train": 200,
    "steps": 4,
    "threads": 1,
    "eval_every": 2,
    "code": "bernoulli",
    "r": 2.0,
    "attack": "reverse",
}
TIMEOUT_S = 120.0  # a healthy round never comes near it
SHORT_S = 10.0  # the deadline of the run where a slot stays silent (well past a healthy round)


def cfg_of(tmp_path: Path, **changes: Any) -> TrainConfig:
    return build_config(SMALL | {"runs_dir": str(tmp_path / "runs")} | changes)


Fault = Callable[[int, Ballot, WorkerTransport], Ballot | None]  # (round, ballot, the real send)


class Wrapped(WorkerTransport):
    """A worker transport that lets a test change what one slot sends or receives."""

    def __init__(self, inner: WorkerTransport, fault: Fault) -> None:
        self.inner, self.slot, self.fault = inner, inner.slot, fault

    def send(self, round_id: int, ballot: Ballot) -> None:
        changed = self.fault(round_id, ballot, self.inner)
        if changed is not None:  # None: the slot stays silent this round
            self.inner.send(round_id, changed)

    def receive(self, round_id: int, timeout_s: float) -> tuple[Update, str]:
        return self.inner.receive(round_id, timeout_s)


def run_hub(
    cfg: TrainConfig,
    faults: dict[int, Fault] | None = None,
    *,
    round_deadline_s: float = TIMEOUT_S,
) -> tuple[dict[str, Any], list[dict[str, Any]], InProcessHub]:
    """The hub cluster with ``faults[slot]`` wrapped around that slot's end of the hub."""

    def wrap(slot: int, end: WorkerTransport, master: MasterNode) -> WorkerTransport:
        return Wrapped(end, faults[slot]) if faults and slot in faults else end

    run = hub_cluster(cfg, wrap=wrap, round_deadline_s=round_deadline_s)
    return run.summary, run.workers, run.hub


class DropAtMaster(MasterTransport):
    """The fast path with ``slot``'s ballot of round ``r`` lost (the oracle of a silent slot)."""

    def __init__(self, inner: InProcessSystem, drops: dict[int, int]) -> None:
        self.inner, self.drops = inner, drops
        self.n_workers = inner.n_workers

    def gather(self, round_id: int, timeout_s: float) -> list[Ballot | None]:
        ballots = self.inner.gather(round_id, timeout_s)
        return [None if self.drops.get(s) == round_id else b for s, b in enumerate(ballots)]

    def broadcast(self, round_id: int, update: Update, digest: str) -> None:
        self.inner.broadcast(round_id, update, digest)


def fast_path_with_drops(cfg: TrainConfig, drops: dict[int, int]) -> dict[str, Any]:
    setup = prepare(cfg)
    node = MasterNode(setup)
    return run_master(setup, DropAtMaster(InProcessSystem(setup, node), drops), node=node)


def train_losses(summary: dict[str, Any]) -> list[str]:
    with open(Path(summary["run_dir"]) / "metrics.csv") as f:
        return [row["train_loss"] for row in csv.DictReader(f)]


def test_hub_and_fast_path_count_the_same_bytes_and_train_loss(tmp_path: Path) -> None:
    cfg = cfg_of(tmp_path)
    fast = train_inprocess(prepare(cfg), progress=False)
    hub, workers, _ = run_hub(cfg)
    assert hub["model_sha256"] == fast["model_sha256"]
    assert all(w["digest"] == fast["model_sha256"] for w in workers)
    assert hub["wire_bytes_per_round"] == fast["wire_bytes_per_round"] > 0
    losses = train_losses(hub)
    assert losses == train_losses(fast) and len(losses) == 2
    assert all(0.0 < float(v) < 10.0 for v in losses)  # a real cross-entropy, not NaN


def test_a_silent_slot_abstains_after_the_deadline_as_if_its_ballot_were_lost(
    tmp_path: Path,
) -> None:
    cfg = cfg_of(tmp_path)

    def silent_in_round_1(r: int, ballot: Ballot, _: WorkerTransport) -> Ballot | None:
        return None if r == 1 else ballot

    honest = next(s for s in range(cfg.n) if s not in prepare(cfg).byzantine)
    hub, workers, _ = run_hub(cfg, {honest: silent_in_round_1}, round_deadline_s=SHORT_S)
    oracle = fast_path_with_drops(cfg, {honest: 1})
    clean = train_inprocess(prepare(cfg), progress=False)
    assert hub["abstentions"] == oracle["abstentions"] == 1
    assert hub["model_sha256"] == oracle["model_sha256"] != clean["model_sha256"]
    assert all(w["digest"] == hub["model_sha256"] for w in workers)  # the silent one too
    assert hub["wire_bytes_per_round"] < clean["wire_bytes_per_round"]


def test_a_vote_that_does_not_fit_the_model_is_an_abstention(tmp_path: Path) -> None:
    cfg = cfg_of(tmp_path)
    honest = next(s for s in range(cfg.n) if s not in prepare(cfg).byzantine)

    def too_long_in_round_0(r: int, ballot: Ballot, _: WorkerTransport) -> Ballot:
        if r != 0 or ballot.vote is None:
            return ballot
        return Ballot(pack_ternary(torch.ones(ballot.vote.length + 8).numpy().astype("int8")))

    hub, _, _ = run_hub(cfg, {honest: too_long_in_round_0})
    oracle = fast_path_with_drops(cfg, {honest: 0})
    assert hub["abstentions"] == 1
    assert hub["model_sha256"] == oracle["model_sha256"]


def test_a_ballot_for_a_closed_round_changes_nothing_and_is_not_kept(tmp_path: Path) -> None:
    cfg = cfg_of(tmp_path)
    kept: dict[int, Ballot] = {}

    def replay_round_0_later(r: int, ballot: Ballot, real: WorkerTransport) -> Ballot:
        kept.setdefault(r, ballot)
        if r == 2:  # round 0 closed long ago: its ballot again, then this round's own
            real.send(0, kept[0])
        return ballot

    hub, _, the_hub = run_hub(cfg, {0: replay_round_0_later})
    clean = train_inprocess(prepare(cfg), progress=False)
    assert hub["model_sha256"] == clean["model_sha256"]
    assert hub["abstentions"] == 0
    assert 0 not in the_hub.ballots  # a stale ballot is dropped, not stored forever


def test_the_master_loop_resumes_from_a_checkpoint_to_the_uninterrupted_model(
    tmp_path: Path,
) -> None:
    cfg = cfg_of(tmp_path, steps=6, eval_every=3)
    whole = train_inprocess(prepare(cfg), progress=False)
    saved: dict[int, bytes] = {}

    class Stop(Exception):
        pass

    setup = prepare(cfg)
    node = MasterNode(setup)

    def checkpoint(done: int, update: Update, digest: str) -> None:
        saved[done] = node.replica.state_bytes()
        if done == 3:
            raise Stop  # the master dies after round 2, its checkpoint written

    features = MasterFeatures(checkpoint=checkpoint, checkpoint_every=3)
    with contextlib.suppress(Stop):
        run_master(setup, InProcessSystem(setup, node), node=node, features=features)
    assert sorted(saved) == [3]
    again = prepare(cfg)
    fresh = MasterNode(again)
    fresh.replica.load_state_bytes(saved[3])
    resumed = run_master(
        again,
        InProcessSystem(again, fresh),
        node=fresh,
        features=MasterFeatures(first_round=3),
    )
    assert resumed["model_sha256"] == whole["model_sha256"]
    assert resumed["steps"] == whole["steps"] == 6


class Resyncing(WorkerTransport):
    """An in-process worker that recovers from a digest mismatch by copying the master's
    state (what the gRPC worker does with a snapshot); the first update of ``round`` comes
    with a wrong digest."""

    recoverable = (DigestMismatch,)

    def __init__(self, inner: WorkerTransport, master: MasterNode, bad_round: int) -> None:
        self.inner, self.slot, self.master, self.bad_round = inner, inner.slot, master, bad_round
        self.recoveries = 0

    def send(self, round_id: int, ballot: Ballot) -> None:
        self.inner.send(round_id, ballot)

    def receive(self, round_id: int, timeout_s: float) -> tuple[Update, str]:
        update, digest = self.inner.receive(round_id, timeout_s)
        if round_id == self.bad_round and not self.recoveries:
            return update, "0" * 64
        return update, digest

    def recover(self, error: BaseException, round_id: int, node: WorkerNode) -> int:
        self.recoveries += 1
        node.replica.load_state_bytes(self.master.replica.state_bytes())
        node.forget_ballot()
        return round_id + 1  # the master is waiting for round r + 1's ballots


def test_the_worker_loop_recovers_through_its_transport_and_ends_in_step(tmp_path: Path) -> None:
    cfg = cfg_of(tmp_path)
    made: list[Resyncing] = []

    def wrap(slot: int, end: WorkerTransport, master: MasterNode) -> WorkerTransport:
        if slot != 1:
            return end
        made.append(Resyncing(end, master, bad_round=1))
        return made[0]

    run = hub_cluster(cfg, wrap=wrap)
    assert made[0].recoveries == 1
    assert [w["digest"] for w in run.workers] == [run.summary["model_sha256"]] * cfg.n
    clean = train_inprocess(prepare(cfg), progress=False)
    assert run.summary["model_sha256"] == clean["model_sha256"]


def test_train_loss_counts_each_partition_once_and_only_with_a_vote() -> None:
    vote = pack_ternary(torch.ones(3).numpy().astype("int8"))
    ballots = [
        Ballot(vote, ((0, 1.0), (1, 3.0))),
        Ballot(vote, ((1, 3.0), (2, 5.0))),
        Ballot(None, ((3, 100.0),)),  # no vote: its losses are not counted
        None,
    ]
    assert train_loss(ballots) == (1.0 + 3.0 + 5.0) / 3
    assert math.isnan(train_loss([None, Ballot(None, ((0, 1.0),))]))
