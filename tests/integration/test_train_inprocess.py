"""Single-machine training through the real loaders, models, codes, votes and run folders."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from election.config import build_config
from election_cli.commands.train import run_training
from election_cli.main import main

QUICK = {"num_train": 300, "steps": 6, "eval_every": 3}


def train(tmp_path: Path, **overrides) -> dict:
    cfg = build_config(QUICK | {"runs_dir": str(tmp_path)} | overrides)
    return run_training(cfg, progress=False)


@pytest.mark.parametrize(
    "n, b, attack, select",
    [
        (5, 1, "reverse", "heaviest"),
        (5, 1, "omniscient", "random"),
        (5, 2, "directional", "heaviest"),
        (7, 2, "random", "heaviest"),
        (7, 3, "omniscient", "heaviest"),
        (9, 2, "reverse", "random"),
    ],
)
def test_deterministic_code_under_attack_reproduces_uncoded_signsgd_without_attack(
    tmp_path, n, b, attack, select
):
    common = {"n": n, "b": b, "batch_size": 10 * n}
    clean = train(tmp_path, code="uncoded", attack="none", **common)
    coded = train(tmp_path, code="deterministic", attack=attack, byzantine_select=select, **common)
    assert coded["model_sha256"] == clean["model_sha256"]
    assert len(coded["byzantine"]) == b


def test_partition_momentum_placement_also_reproduces_the_clean_run(tmp_path):
    common = {"optimizer": "partition-momentum", "lr": 1e-2}
    clean = train(tmp_path, code="uncoded", attack="none", **common)
    coded = train(
        tmp_path, code="deterministic", attack="omniscient", byzantine_select="heaviest", **common
    )
    assert coded["model_sha256"] == clean["model_sha256"]


def test_signsgd_mv_is_moved_by_a_single_reverse_attacker(tmp_path):
    clean = train(tmp_path, code="uncoded", attack="none")
    attacked = train(tmp_path, code="uncoded", attack="reverse")
    assert attacked["model_sha256"] != clean["model_sha256"]


def test_recompute_mode_gives_the_same_model_as_the_fast_path(tmp_path):
    for optimizer in ("master-momentum", "partition-momentum"):
        fast = train(tmp_path, code="bernoulli", r=2.5, attack="reverse", optimizer=optimizer)
        slow = train(
            tmp_path, code="bernoulli", r=2.5, attack="reverse", optimizer=optimizer, recompute=True
        )
        assert fast["model_sha256"] == slow["model_sha256"]


def test_run_folder_holds_config_metrics_summary_and_plot(tmp_path):
    summary = train(tmp_path, code="deterministic", attack="reverse")
    run_dir = Path(summary["run_dir"])
    config = json.loads((run_dir / "config.json").read_text())
    assert config["config"]["code"] == "deterministic" and config["code"]["redundancy"] == 3.8
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [3, 6]
    assert all(0.0 <= float(r["value"]) <= 1.0 for r in rows)
    assert (
        json.loads((run_dir / "summary.json").read_text())["model_sha256"]
        == summary["model_sha256"]
    )
    assert (run_dir / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["wire_bytes_per_coord_per_vote"] < 0.126  # dense votes: 1 bit + header


# Accuracy each baseline must clear after 60 steps of 40 samples (chance is 0.1 on 10
# classes); measured 0.95 (signed-sum) and 0.41-0.42 (median, sgd) with seed 0.
BASELINE_FLOOR = {"signed-sum": 0.8, "median": 0.3, "sgd": 0.3}


@pytest.mark.parametrize("scheme", ["signed-sum", "median", "sgd"])
def test_paper_baselines_train(tmp_path, scheme):
    summary = train(
        tmp_path,
        code="uncoded",
        scheme=scheme,
        lr=1e-2,
        steps=60,
        eval_every=60,
        partition_size=8,
    )
    assert summary["final"]["accuracy"] > BASELINE_FLOOR[scheme]


def test_noisy_gradient_baseline_is_seeded(tmp_path):
    a = train(tmp_path, code="uncoded", noise_variance=1e-4)
    b = train(tmp_path, code="uncoded", noise_variance=1e-4)
    c = train(tmp_path, code="uncoded")
    assert a["model_sha256"] == b["model_sha256"] != c["model_sha256"]


def test_amazon_with_the_papers_pipeline_reports_auc(tmp_path):
    summary = train(
        tmp_path,
        dataset="amazon",
        n=5,
        b=1,
        batch_size=75,
        num_train=3000,
        code="bernoulli",
        r=2.0,
        attack="directional",
    )
    assert 0.0 <= summary["final"]["auc"] <= 1.0


def test_cli_json_summary_has_the_promised_keys(tmp_path, capsys):
    code = main(
        [
            "train",
            "--steps",
            "3",
            "--num-train",
            "200",
            "--runs-dir",
            str(tmp_path),
            "--json",
            "--quiet",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert {"model_sha256", "final", "steps", "run_dir"} <= set(summary)
    assert summary["steps"] == 3 and "accuracy" in summary["final"]


def test_cli_accepts_the_papers_flags_with_real_booleans(tmp_path, capsys):
    args = [
        "train",
        "--num_nodes",
        "5",
        "--num_Byz_nodes",
        "1",
        "--deterministic",
        "False",
        "--redundancy",
        "1",
        "--attack_type",
        "reverse",
        "--trial_idx",
        "3",
        "--batch_size",
        "20",
        "--steps",
        "2",
        "--num-train",
        "200",
        "--runs-dir",
        str(tmp_path),
        "--json",
        "--quiet",
    ]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    # --deterministic False is False: main.py's Bernoulli code with r = 1.0 (docs/paper.md)
    assert summary["code"] == "bernoulli" and summary["seed"] == 3
    config = json.loads((Path(summary["run_dir"]) / "config.json").read_text())["config"]
    assert config["batch_size"] == 20  # --batch_size is the global batch
    assert config["r"] == 1.0


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--n", "5", "--b", "5"], "b=5"),
        (["--dataset", "mnist"], "mnist"),
        (["--attack", "flip"], "flip"),
        (["--code", "file:/nonexistent.json"], "nonexistent"),
        (["--device", "cuda:7"], "cuda"),
    ],
)
def test_user_mistakes_give_one_line_errors(tmp_path, capsys, args, fragment):
    assert main(["train", *args, "--steps", "1", "--runs-dir", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("election: error:") and fragment in err and "\n" not in err


def test_cifar10_resnet18_trains_from_a_real_format_pickle_folder(tmp_path):
    from election.data import cifar10
    from tests.unit.test_data_cifar10 import write_batch

    folder = tmp_path / "data" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for k, name in enumerate([*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH]):
        data = rng.integers(0, 256, (6, 3072), dtype=np.uint8)  # (6, 3*32*32) uint8
        write_batch(folder / name, data, [(k + i) % 10 for i in range(6)])
    summary = train(
        tmp_path,
        dataset="cifar10",
        data_root=str(tmp_path / "data"),
        num_train=0,
        partition_size=2,
        steps=2,
        eval_every=2,
        code="deterministic",
        attack="reverse",
    )
    assert summary["dim"] == 11_173_962 and summary["steps"] == 2
    assert 0.0 <= summary["final"]["accuracy"] <= 1.0


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(),
    reason="Debian package dataset-fashion-mnist not installed (CI installs it)",
)
def test_fashion_mnist_trains_on_the_real_debian_files(tmp_path):
    summary = train(
        tmp_path,
        dataset="fashion-mnist",
        num_train=600,
        steps=3,
        eval_every=3,
        code="bernoulli",
        r=2.0,
        attack="random",
    )
    assert summary["steps"] == 3 and 0.0 <= summary["final"]["accuracy"] <= 1.0


def test_audit_reports_per_window_and_does_not_change_the_model(tmp_path):
    common = {"attack": "directional", "decoder": "quorum", "eval_every": 3}
    plain = train(tmp_path, **common)
    audited = train(tmp_path, audit=True, **common)
    assert audited["model_sha256"] == plain["model_sha256"] and "audit" not in plain
    audit = audited["audit"]
    d, steps = audited["dim"], audited["steps"]
    assert sum(audit[k]["coords"] for k in ("nonzero", "tie", "dead")) == d * steps
    assert audit["nonzero"]["deviations"] == 0  # the shipped (5, 1) code is exact on ternary u
    run = Path(audited["run_dir"])
    with (run / "audit.csv").open() as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [3, 6]
    assert (run / "audit.png").is_file()


@pytest.mark.skipif(
    not Path("../shared/data/amazon/train.csv").is_file(), reason="Amazon data not present"
)
def test_on_sparse_amazon_gradients_plain_moves_every_dead_coordinate_and_quorum_none(tmp_path):
    """Directional attacker, shipped (5, 1) code: plain lets b = 1 vote move each dead
    coordinate; the quorum decoder (q = b + 1 = 2) moves none and stays exact where mu != 0."""
    common = {
        "dataset": "amazon",
        "data_root": "../shared/data/amazon",
        "num_train": 600,
        "attack": "directional",
        "audit": True,
    }
    plain = train(tmp_path, decoder="plain", **common)["audit"]
    quorum = train(tmp_path, decoder="quorum", **common)["audit"]
    assert plain["dead"]["coords"] > 0
    assert plain["dead"]["deviations"] == plain["dead"]["coords"]
    assert quorum["dead"]["deviations"] == 0 < quorum["dead"]["coords"]
    assert plain["nonzero"]["deviations"] == quorum["nonzero"]["deviations"] == 0
