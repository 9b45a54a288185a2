"""The audit's per-step counts against a naive numpy classification, and its windows."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from election.training.audit import COLUMNS, Audit, step_counts


def naive(u: np.ndarray, out: np.ndarray) -> dict[str, int]:
    counts = {f"{p}_{k}": 0 for p in ("coords", "dev") for k in ("nonzero", "tie", "dead")}
    counts["dev_nonzero_opposite"] = 0
    for k in range(u.shape[1]):
        col, mu = u[:, k], int(np.sign(u[:, k].sum()))
        kind = "nonzero" if mu else ("dead" if not col.any() else "tie")
        counts[f"coords_{kind}"] += 1
        counts[f"dev_{kind}"] += int(out[k] != mu)
        counts["dev_nonzero_opposite"] += int(mu != 0 and out[k] == -mu)
    return counts


def test_step_counts_match_a_per_coordinate_classification() -> None:
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 8):
        u = rng.choice(np.array([-1, 0, 1], np.int8), size=(n, 500), p=[0.3, 0.4, 0.3])
        u[:, :40] = 0  # dead coordinates
        out = rng.choice(np.array([-1, 0, 1], np.int8), size=500)
        signs = {i: torch.from_numpy(u[i]) for i in range(n)}
        assert step_counts(signs, torch.from_numpy(out)) == naive(u, out)


def test_windows_sum_steps_and_the_summary_sums_windows(tmp_path: Path) -> None:
    audit = Audit(tmp_path / "audit.csv")
    step = {c: 1 for c in COLUMNS[1:]}
    for s in range(1, 6):
        audit.add(s, step | {"dev_dead": int(s == 4)})
        if s in (3, 5):
            audit.close_window(s)
    with (tmp_path / "audit.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [3, 5]
    assert [int(r["coords_tie"]) for r in rows] == [3, 2]
    assert [int(r["dev_dead"]) for r in rows] == [0, 1]
    summary = audit.summary(5)
    assert summary["dead"] == {"coords": 5, "deviations": 1, "first_deviation_step": 4}
    assert summary["nonzero"]["opposite"] == 5 and summary["steps"] == 5
    audit.plot(tmp_path / "audit.png", "t")
    assert (tmp_path / "audit.png").stat().st_size > 0
