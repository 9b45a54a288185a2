"""The schemes behind the paper's flags: sign-of-sum (--signed_sum) and per-worker noise
(--noisy_gradient --variance), against naive oracles and across the two in-process paths."""

from __future__ import annotations

import torch

from election.config import build_config
from election.training.loop import train_inprocess
from election.training.nodes import WorkerNode
from election.training.partitions import with_worker_noise
from election.training.round import aggregate, honest_message
from election.training.setup import prepare

SMALL = {"dataset": "digits", "num_train": 200, "steps": 4, "threads": 1, "eval_every": 2}


def test_sign_of_sum_signs_the_sum_of_raw_gradients_not_the_last_partition():
    g1 = torch.tensor([3.0, -1.0, 0.5, 0.0])
    g2 = torch.tensor([-1.0, 2.0, -0.25, 0.0])
    vote = honest_message("sign-of-sum", (0, 1), {0: g1, 1: g2})
    naive = [1 if a + b > 0 else -1 if a + b < 0 else 0 for a, b in zip(g1, g2, strict=True)]
    assert vote.tolist() == naive == [1, 1, 1, 0]
    assert vote.dtype == torch.int8
    # main.py's aliasing sends sign(g2) = [-1, 1, -1, 0]: the first and third coordinates differ.
    assert vote.tolist() != torch.sign(g2).tolist()


def test_sign_of_sum_master_takes_the_majority_of_the_one_bit_votes():
    votes = [torch.tensor([1, -1, 1], dtype=torch.int8), torch.tensor([1, 1, -1], dtype=torch.int8)]
    votes.append(torch.tensor([-1, 1, -1], dtype=torch.int8))
    assert aggregate("sign-of-sum", votes).tolist() == [1, 1, -1]


def test_worker_noise_std_is_a_standard_deviation_and_each_draw_is_its_own():
    cfg = build_config({"worker_noise_std": 0.5})
    x = {0: torch.zeros(200_000), 1: torch.zeros(200_000)}
    a = with_worker_noise(cfg, 3, 0, x)
    assert abs(float(a[0].std()) - 0.5) < 0.005  # V is the std, not the variance
    b = with_worker_noise(cfg, 3, 1, x)  # another worker, same partition and step
    assert not torch.equal(a[0], b[0]) and not torch.equal(a[0], a[1])
    assert abs(float(torch.corrcoef(torch.stack([a[0], b[0]]))[0, 1])) < 0.01
    assert torch.equal(with_worker_noise(cfg, 3, 0, x)[0], a[0])  # seeded: the same again
    assert not torch.equal(with_worker_noise(cfg, 4, 0, x)[0], a[0])  # a new draw per step


def test_byzantine_workers_add_no_noise():
    noisy = prepare(build_config(SMALL | {"worker_noise_std": 10.0, "code": "uncoded"}))
    clean = prepare(build_config(SMALL | {"code": "uncoded"}))
    slot = 2
    liar = WorkerNode(noisy, slot, byzantine=True).vote(0)  # reverse attack on its clean vote
    honest_clean = WorkerNode(clean, slot, byzantine=False).vote(0)
    honest_noisy = WorkerNode(noisy, slot, byzantine=False).vote(0)
    assert liar is not None and honest_clean is not None and honest_noisy is not None
    assert torch.equal(liar, -honest_clean)
    assert not torch.equal(honest_noisy, honest_clean)  # std 10 flips many signs


def test_fast_path_with_worker_noise_equals_every_worker_recomputing(tmp_path):
    base = SMALL | {"worker_noise_std": 0.02, "code": "bernoulli", "r": 2.0}
    fast = train_inprocess(
        prepare(build_config(base | {"runs_dir": str(tmp_path)})), progress=False
    )
    slow = train_inprocess(
        prepare(build_config(base | {"runs_dir": str(tmp_path), "recompute": True})),
        progress=False,
    )
    plain = train_inprocess(
        prepare(build_config(SMALL | {"code": "bernoulli", "r": 2.0, "runs_dir": str(tmp_path)})),
        progress=False,
    )
    assert fast["model_sha256"] == slow["model_sha256"]
    assert fast["model_sha256"] != plain["model_sha256"]
