"""results/detection.py: the ROC AUC of the scores and the workers any round's proof named."""

from __future__ import annotations

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


def test_every_worker_a_proof_named_and_the_row(tmp_path: Path) -> None:
    detection = load()
    (tmp_path / "accusation.csv").write_text("step,proven\n0,2\n1,\n2,2;7\n")
    assert detection.ever_named(tmp_path) == {2, 7}
    cell = {"dataset": "digits", "n": 9, "b": 2, "code": "bernoulli", "attack": "reverse",
            "byzantine": [2, 5], "proven": 1, "first": 0.0, "false": 1, "auc": 0.75}  # fmt: skip
    assert (
        detection.table_row(cell)
        == "| digits | 9 | 2 | bernoulli | reverse | 2,5 | 1/2 | 0.0 | **1** | 0.75 |"
    )
