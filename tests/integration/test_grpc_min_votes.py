"""A round never closes on too few votes (a real master process on port 0).

``min_votes`` defaults to n - b: a master with no worker at all used to "train" every round on
abstentions; now its first round waits past the deadline for min_votes, then it stops with
one line, exit status 3 and a checkpoint, and a restarted master resumes the same round.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from election.votes import pack_ternary
from master import checkpoint
from master.cluster import LocalCluster
from tests.integration.grpc_helpers import small_config, wait_for_round
from wire.messages import Credentials, JoinClaim, Vote
from worker.client import MasterClient

WAIT_S = 1.0  # --min-votes-wait of these tests
FLAGS = ["--quiet", "--round-deadline", "0.5", "--startup-timeout", "0.5"]
FLAGS += ["--min-votes-wait", str(WAIT_S)]


def stderr_tail(cluster: LocalCluster) -> list[str]:
    return (cluster.workdir / "master.log").read_text().strip().splitlines()


def test_a_master_without_workers_stops_with_a_clear_error_and_a_checkpoint(
    tmp_path: Path,
) -> None:
    cfg = small_config(tmp_path, steps=3)
    ckpt = tmp_path / "ckpt"
    cluster = LocalCluster(
        cfg, tmp_path / "cluster", master_args=[*FLAGS, "--checkpoint-dir", str(ckpt)]
    )
    try:
        started = time.monotonic()
        master = cluster.start_master()
        assert master.wait(60) == 3
        elapsed = time.monotonic() - started
    finally:
        cluster.stop()
    last = stderr_tail(cluster)[-1]
    assert last.startswith("election: error: round 0 has 0 vote(s), fewer than min_votes = 2")
    assert "resume from the checkpoint" in last
    saved = checkpoint.load(ckpt)
    assert saved is not None and saved.next_round == 0
    assert elapsed < 60
    assert not list((tmp_path / "runs").glob("*/summary.json"))  # nothing was "trained"


def vote(client: MasterClient, cred: Credentials, dim: int, r: int) -> None:
    values = np.where(np.arange(dim) % (cred.slot + 2) == 0, -1, 1).astype(np.int8)
    client.submit(Vote(cred, r, pack_ternary(values)))


def test_a_round_short_of_min_votes_stops_the_master_and_a_restart_resumes_it(
    tmp_path: Path,
) -> None:
    cfg = small_config(tmp_path, steps=4)
    ckpt = tmp_path / "ckpt"
    cluster = LocalCluster(
        cfg,
        tmp_path / "cluster",
        master_args=[*FLAGS, "--checkpoint-dir", str(ckpt), "--linger", "0"],
    )
    secret = cluster.env["ELECTION_JOIN_SECRET"]
    try:
        cluster.start_master()
        client = MasterClient(cluster.target)
        creds = []
        for slot in range(cfg.n):
            a = client.join(JoinClaim(slot, f"test-{slot}", secret))
            creds.append(Credentials(a.run_id, a.slot, a.token))
        dim = client.status().dim
        for cred in creds:
            vote(client, cred, dim, 0)
        wait_for_round(cluster.target, 1)
        vote(client, creds[0], dim, 1)  # 1 of 3 votes, min_votes = n - b = 2
        client.close()
        assert cluster.master is not None
        assert cluster.master.wait(60) == 3
        assert "round 1 has 1 vote(s)" in stderr_tail(cluster)[-1]
        saved = checkpoint.load(ckpt)
        assert saved is not None and saved.next_round == 1
        cluster.start_master()  # same flags, same checkpoint: resumes round 1
        client = MasterClient(cluster.target)
        status = client.status()
        assert status.round == 1 and status.run_id == creds[0].run_id
        for r in range(1, cfg.steps):
            for cred in creds[:2]:  # two of three: enough, the third abstains
                vote(client, cred, dim, r)
            wait_for_round(cluster.target, r + 1)
        client.close()
        summary = cluster.wait(60.0)
    finally:
        cluster.stop()
    assert summary["steps"] == cfg.steps and summary["status"] == "completed"
    assert summary["abstentions"] == cfg.steps - 1
