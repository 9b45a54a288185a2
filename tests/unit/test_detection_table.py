"""results/detection.py: the ROC AUC, the per-round reading of accusation.csv, the scoring of a
fixed and of a mobile Byzantine set, the rows and the summary, and the resumable cells file."""

from __future__ import annotations

import csv
import importlib.util
import random
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("detection", ROOT / "results" / "detection.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_roc_auc_matches_scikit_learn_with_ties() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    detection = load()
    rng = random.Random(3)
    for _ in range(50):
        pos = [rng.choice([0.0, 0.5, 1.0, 2.0, 20.0]) for _ in range(rng.randint(1, 4))]
        neg = [rng.choice([0.0, 0.5, 1.0, 2.0]) for _ in range(rng.randint(1, 12))]
        expected = metrics.roc_auc_score([1] * len(pos) + [0] * len(neg), pos + neg)
        assert detection.roc_auc(pos, neg) == pytest.approx(expected)
    assert detection.roc_auc([], [1.0]) is None


def write_rounds(path: Path) -> None:
    (path / "accusation.csv").write_text(
        "step,proven,score_0,score_1,score_2\n0,2,0.1,0.2,3.0\n1,,0.1,,2.0\n2,1;2,0.5,4.0,1.0\n"
    )


def test_proof_rounds_reads_each_rounds_proof_and_scores(tmp_path: Path) -> None:
    detection = load()
    write_rounds(tmp_path)
    assert detection.proof_rounds(tmp_path) == [
        ({2}, [0.1, 0.2, 3.0]),
        (set(), [0.1, None, 2.0]),
        ({1, 2}, [0.5, 4.0, 1.0]),
    ]


def test_a_fixed_set_is_scored_by_workers_ever_named(tmp_path: Path) -> None:
    detection = load()
    write_rounds(tmp_path)
    rounds = detection.proof_rounds(tmp_path)
    got = detection.score_static({2, 0}, rounds, [0.5, 4.0, 1.0], {"2": 0, "1": 2})
    # 2 proven (first in round 0), 0 never; 1 is honest and was named; AUC: 1.0 beats nothing
    # of {4.0}, 0.5 neither -> 0/2
    assert got == {"proven": 1, "total": 2, "first": 0.0, "false": 1, "auc": 0.0}


def test_a_mobile_set_is_scored_per_round_and_worker(tmp_path: Path) -> None:
    detection = load()
    write_rounds(tmp_path)
    rounds = detection.proof_rounds(tmp_path)
    got = detection.score_mobile([{2}, {0}, {1}], rounds)
    # round 0: 2 proven and Byzantine; round 1: 0 not proven; round 2: 1 proven, 2 is honest
    assert got["proven"] == 2 and got["total"] == 3 and got["first"] == 0.0
    assert got["false"] == 1
    # Byzantine scores 3.0, 0.1, 4.0 against honest 0.1, 0.2 | 2.0 | 0.5, 1.0 (5 of them)
    positive, negative = [3.0, 0.1, 4.0], [0.1, 0.2, 2.0, 0.5, 1.0]
    assert got["auc"] == detection.roc_auc(positive, negative)
    late = detection.score_mobile([{0}, {0}, {1}], rounds)
    assert late["first"] == 2.0 and late["proven"] == 1 and late["false"] == 2


def cell_row(**changes: str) -> dict[str, str]:
    row = {"dataset": "digits", "selection": "random", "n": "9", "b": "2", "code": "bernoulli",
           "attack": "reverse", "byzantine": "2,5", "proven": "1", "total": "2",
           "first": "0.0", "false": "1", "auc": "0.75"}  # fmt: skip
    return row | changes


def test_the_row_and_the_summary_sum_over_n() -> None:
    detection = load()
    assert (
        detection.table_row(cell_row())
        == "| 9 | 2 | bernoulli | reverse | 2,5 | 1/2 | 0.0 | **1** | 0.75 |"
    )
    free = cell_row(attack="none", byzantine="", proven="0", total="0", first="", false="0",
                    auc="")  # fmt: skip
    assert detection.table_row(free) == "| 9 | 2 | bernoulli | none | - | - | - | 0 | - |"
    rows = [
        free,
        cell_row(n="5", b="1", byzantine="2", proven="1", total="1", false="0", auc="1.0"),
        cell_row(),
    ]
    summary = detection.summary_table(rows).splitlines()
    assert summary[0] == "| attack | uncoded | bernoulli | deterministic | ternary | false proofs |"
    assert summary[2] == "| none | - | - | - | - | 0 |"
    assert summary[3] == "| reverse | - | 2/3 · AUC 0.88 | - | - | 1 |"


def test_a_torn_cell_is_dropped_and_every_cell_named_once(tmp_path: Path) -> None:
    detection = load()
    path = tmp_path / "cells.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerows([detection.CELL_FIELDS, cell_row().values(), ["digits", "random", "9"]])
        writer.writerow([*cell_row().values(), "extra"])
    assert detection.read_cells(path) == [cell_row()]
    specs = [s for s in detection.specs() if s[0] == "digits"]
    assert len(specs) == len(set(specs)) == 3 * 4 * (11 + 10)  # no attack-free mobile cell
    assert ("digits", "mobile", 5, 1, "ternary", "none") not in specs
