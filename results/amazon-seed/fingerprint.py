"""Which Byzantine set did the official Amazon runs draw? The AUC after step 1 fingerprints it.

    python results/amazon-seed/fingerprint.py [--top 5]

At step 1 theta = 0 for every Byzantine set, so every partition's velocity is 0.1 * g_i(0) and
worker j votes E_j = sign(sum_{i in S_j} sign(g_i)). With Byzantine set B sending +1 everywhere
the master's update is m = sign(sum_{j not in B} E_j + |B|) and theta_1 = -1e-3 * m, so a test
row's score is -sum_f m[x_f] (an integer up to the 1e-3 factor) and AUC_1(B) follows exactly.
This script computes AUC_1 for all C(15, 5) = 3003 sets, for the identity code and the official
matrix, checks it against the replay's own step-1 AUC (results/amazon-seed/runs), and lists the
sets closest to the official runs' recorded step-1 AUC (0.428461 SignSGD-MV, 0.438299 Bernoulli:
row 1 of their CSV files).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from election.data import load_dataset
from election.paper.amazon import read_curve
from election.paper.presets import AMAZON_MATRIX

N, B, PART = 15, 5, 15  # workers, Byzantine workers, rows per partition and step
OFFICIAL_STEP1 = {"signsgd-mv": 0.428461, "bernoulli": 0.438299}  # CSV row 1


def partition_signs(train_x: np.ndarray, train_y: np.ndarray, width: int) -> np.ndarray:
    """sign(g_i(0)) per partition at step 1: (N, width) int8; g = X^T (0.5 - y) / 15."""
    shard = train_x.shape[0] // N
    out = np.zeros((N, width), dtype=np.int8)
    for i in range(N):
        rows = slice(i * shard, i * shard + PART)
        g = np.zeros(width)
        np.add.at(g, train_x[rows].reshape(-1), np.repeat(0.5 - train_y[rows], train_x.shape[1]))
        out[i] = np.sign(g).astype(np.int8)
    return out


def step1_auc(votes: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> dict[tuple, float]:
    """Byzantine set -> AUC after step 1 (votes: (N, width) int8 honest votes)."""
    total = votes.sum(axis=0, dtype=np.int32)  # (width,) int32
    out = {}
    for byz in itertools.combinations(range(N), B):
        master = np.sign(total - votes[list(byz)].sum(axis=0, dtype=np.int32) + B)
        score = -master[test_x].sum(axis=1)  # (n_test,) int: theta_1 . x / 1e-3
        out[byz] = float(roc_auc_score(test_y, score))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--runs", type=Path, default=Path("results/amazon-seed/runs"))
    args = parser.parse_args(argv)
    d = load_dataset("amazon", protocol="seed")
    width = int(d.num_features or 0)
    train_x, train_y = d.train_x.numpy(), d.train_y.numpy().astype(float)
    test_x, test_y = d.test_x.numpy(), d.test_y.numpy()
    signs = partition_signs(train_x, train_y, width)
    codes = {
        "signsgd-mv": np.eye(N, dtype=np.int8),
        "bernoulli": np.loadtxt(AMAZON_MATRIX, delimiter=",", dtype=np.int8),
    }
    for scheme, g in codes.items():
        votes = np.sign(g.astype(np.int32) @ signs.astype(np.int32)).astype(np.int8)  # (N, w)
        aucs = step1_auc(votes, test_x, test_y)
        for run in sorted(args.runs.glob(f"{scheme}-s*")):
            byz = tuple(json.loads((run / "summary.json").read_text())["byzantine"])
            print(f"{scheme} check {run.name}: replay AUC_1 {read_curve(run)[1]:.6f}, "
                  f"computed {aucs[byz]:.6f} for {list(byz)}")  # fmt: skip
        values = np.array(list(aucs.values()))
        print(
            f"{scheme}: AUC_1 over the 3003 sets: min {values.min():.6f}, median "
            f"{np.median(values):.6f}, max {values.max():.6f}; official {OFFICIAL_STEP1[scheme]}"
        )
        nearest = sorted(aucs.items(), key=lambda kv: abs(kv[1] - OFFICIAL_STEP1[scheme]))
        for byz, auc in nearest[: args.top]:
            ones = int(g[list(byz)].sum())
            print(f"  nearest: workers {list(byz)} (0-based; {ones} ones of G) AUC_1 {auc:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
