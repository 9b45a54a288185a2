"""The official Amazon run's protocol (docs/paper.md): its feature pipeline against a naive
oracle of amazon_employer/MPI_main.py, fixed contiguous shards, the bias-free model, allocation
files with idle workers and unused partitions, and Bernoulli codes without the redraw."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from election import notices
from election.codes import AllocationCode, make_code
from election.config import build_config
from election.data import amazon, load_dataset
from election.errors import CodeError, ConfigError, DataError
from election.models import build_model
from election.training.batches import batch_for, partition_indices, shard_indices
from election.training.loop import train_inprocess
from election.training.nodes import WorkerNode
from election.training.setup import prepare

needs_csv = pytest.mark.skipif(
    not any(p.is_file() for p in amazon.DEFAULT_CSV_PATHS), reason="Amazon train.csv not present"
)
DIGITS = {"dataset": "digits", "num_train": 200, "steps": 5, "threads": 1, "eval_every": 5}


@pytest.fixture(autouse=True)
def fresh_notices():
    notices.reset()
    yield
    notices.reset()


def official_column(values: list[tuple[int, ...]]) -> list[int]:
    """MPI_main.py:125-200 for one column, spelled out: label-encode the value tuples, send values
    seen once to code u and values seen twice to code u + 1 (u = distinct values), relabel."""
    relabel = {v: k for k, v in enumerate(sorted(set(values)))}
    codes = [relabel[v] for v in values]
    counts = Counter(codes)
    u = len(counts)
    bucketed = [u if counts[c] <= 1 else u + 1 if counts[c] == 2 else c for c in codes]
    final = {v: k for k, v in enumerate(sorted(set(bucketed)))}
    return [final[c] for c in bucketed]


def test_seed_features_match_the_official_pipeline_up_to_code_order():
    rng = np.random.default_rng(5)
    raw = rng.integers(0, 6, size=(80, 9)) * 100 + rng.integers(0, 3, size=(80, 9))
    got, width = amazon.encode(raw, split_rare=True)
    want_width = 0
    for j, group in enumerate(amazon.column_groups(9)):
        want = official_column([tuple(int(v) for v in row[list(group)]) for row in raw])
        want_width += len(set(want))
        pairs = set(zip(got[:, j].tolist(), want, strict=True))
        # the same partition of the rows: a bijection between our codes and the official ones
        assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})
    assert width == want_width
    assert width > amazon.encode(raw)[1]  # two rare buckets per column instead of one


def test_split_rare_needs_threshold_three():
    with pytest.raises(DataError, match="threshold must be 3"):
        amazon.encode(np.zeros((4, 9), dtype=np.int64), rare_threshold=2, split_rare=True)


@needs_csv
def test_real_csv_seed_features_are_the_official_263500():
    d = load_dataset("amazon", protocol="seed")
    assert d.num_features == 263_500  # MPI_main.py:250: "# 263500"
    assert (d.n_train, d.n_test) == (26_325, 6_444)
    assert load_dataset("amazon").num_features == 263_372  # the project's pipeline is unchanged


def test_shards_are_fixed_contiguous_and_read_in_order():
    # n = 3 shards of 20 // 3 = 6 rows; partitions of 2 rows; 20 // 6 = 3 steps per epoch
    assert shard_indices(0, 6, 20, 3).tolist() == [0, 1, 6, 7, 12, 13]
    assert shard_indices(1, 6, 20, 3).tolist() == [2, 3, 8, 9, 14, 15]
    assert shard_indices(2, 6, 20, 3).tolist() == [4, 5, 10, 11, 16, 17]
    assert torch.equal(shard_indices(3, 6, 20, 3), shard_indices(0, 6, 20, 3))  # next epoch
    assert partition_indices(shard_indices(1, 6, 20, 3), 3, 2).tolist() == [14, 15]


def test_official_amazon_shapes():
    # amazon_employer/MPI_main.py:118, 263, 298, 344: 26,325 rows, 15 shards of 1,755 rows,
    # 15 rows per partition and step, 117 steps per epoch
    cfg = build_config({"dataset": "amazon", "protocol": "seed", "n": 15, "b": 5})
    batch = batch_for(cfg, 116, 26_325)
    assert partition_indices(batch, 15, 14).tolist() == list(range(14 * 1755 + 1740, 15 * 1755))
    assert torch.equal(batch_for(cfg, 117, 26_325), batch_for(cfg, 0, 26_325))


def test_seed_protocol_preset_is_the_official_amazon_run():
    cfg = build_config({"dataset": "amazon", "protocol": "seed", "n": 15, "b": 5})
    assert (cfg.model, cfg.eval_every, cfg.optimizer) == ("logreg-nobias", 1, "partition-momentum")
    assert (cfg.lr, cfg.lr_milestones, cfg.momentum, cfg.epochs) == (1e-3, (1,), 0.9, 8)
    assert cfg.batch_size == 225  # 15 rows per partition
    assert build_config({"dataset": "amazon", "n": 15, "b": 5}).model == "logreg"


def test_logreg_nobias_has_only_the_weights():
    model = build_model("logreg-nobias", num_classes=2, num_features=7)
    assert [p.shape for p in model.parameters()] == [torch.Size([7])]
    idx = torch.tensor([[0, 3], [1, 3]])
    model.weight.data[:] = torch.arange(7.0)
    assert model(idx).tolist() == [3.0, 4.0]


def write_gappy_matrix(path: Path) -> str:
    """n = 4: worker 2 holds nothing; partition 3 is held by no one."""
    path.write_text("1,1,0,0\n0,1,0,0\n0,0,0,0\n1,0,1,0\n")
    return f"file:{path}"


def test_file_codes_with_idle_workers_and_unused_partitions_warn_once(tmp_path, capsys):
    code = write_gappy_matrix(tmp_path / "g.csv")
    setup = prepare(build_config(DIGITS | {"n": 4, "b": 1, "code": code, "batch_size": 8}))
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "worker 2 holds no partition" in err[0]
    assert "partition 3 is held by no worker" in err[0]
    assert setup.partitions_of(2) == ()
    vote = WorkerNode(setup, 2, byzantine=False).vote(0)
    assert vote is not None and vote.dtype == torch.int8 and not vote.any()  # votes 0
    attacked = prepare(setup.cfg.replace(attack="directional"))
    liar_vote = WorkerNode(attacked, 2, byzantine=True).vote(0)  # +1 even with no data
    assert liar_vote is not None and bool((liar_vote == 1).all())


def test_gradient_schemes_need_every_worker_to_hold_data(tmp_path):
    code = write_gappy_matrix(tmp_path / "g.csv")
    cfg = build_config(DIGITS | {"n": 4, "b": 1, "code": code, "batch_size": 8, "scheme": "median"})
    with pytest.raises(ConfigError, match="no gradient to send"):
        prepare(cfg)


def test_bernoulli_without_redraw_keeps_the_first_draw():
    seeds = [
        s
        for s in range(50)
        if make_code("bernoulli", n=15, r=2.0, seed=s, redraw=False).empty_rows()
    ]
    assert seeds, "r = 2 of 15 leaves a row empty with probability 1 - (1 - (13/15)^15)^15"
    s = seeds[0]
    once = make_code("bernoulli", n=15, r=2.0, seed=s, redraw=False)
    again = make_code("bernoulli", n=15, r=2.0, seed=s, redraw=True)
    assert once.empty_rows() and not again.empty_rows()
    first = (np.random.default_rng(s).random((15, 15)) < 2 / 15).astype(np.uint8)
    assert np.array_equal(once.matrix, first)
    with pytest.raises(CodeError, match="no partition"):  # other codes keep the rule
        AllocationCode(np.zeros((2, 2)), kind="x")


def test_no_redraw_flag(tmp_path):
    from tests.unit.test_paper_flags import cfg_of

    assert cfg_of("--no-redraw --code bernoulli").redraw is False
    assert cfg_of("--code bernoulli").redraw is True


def test_seed_protocol_fast_path_equals_every_worker_recomputing(tmp_path):
    base = DIGITS | {
        "protocol": "seed",
        "optimizer": "partition-momentum",
        "code": "bernoulli",
        "r": 2.0,
        "redraw": False,
        "attack": "directional",
        "runs_dir": str(tmp_path),
    }
    fast = train_inprocess(prepare(build_config(base)), progress=False)
    slow = train_inprocess(prepare(build_config(base | {"recompute": True})), progress=False)
    assert fast["model_sha256"] == slow["model_sha256"]
