"""Which part of the seed protocol moves the Amazon AUC: the official run (``--protocol seed``)
with ONE of its parts switched back to the project's protocol at a time, Byzantine draw seed 1.

    python results/amazon-seed/ablation.py [--out results/amazon-seed/ablation] [--seed 1]

Variants (docs/paper.md, "The Amazon seed protocol"):
    seed            the official run: fixed shards, official features, no bias
    shuffled        the project's seeded shuffled batches instead of the fixed shards
    project-feats   the project's features (one rare bucket: 263,372) instead of the official
    bias            logistic regression with a bias term (model logreg)
    project         the project's protocol: all three at once (election train --dataset amazon)
Prints one markdown row per (scheme, variant): AUC at steps 100, 300, 500, 700, 936.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from election.config import build_config
from election.data import load_dataset
from election.paper.amazon import CHECKPOINTS, LABELS, read_curve
from election.paper.presets import AMAZON_MATRIX
from election.training.loop import train_inprocess
from election.training.setup import prepare

SCHEMES = {"signsgd-mv": "uncoded", "bernoulli": f"file:{AMAZON_MATRIX}"}
# variant -> (config changes, dataset protocol): which features the run loads
VARIANTS = {
    "seed": ({"protocol": "seed"}, "seed"),
    "shuffled": ({"protocol": "project", "model": "logreg-nobias"}, "seed"),
    "project-feats": ({"protocol": "seed"}, "project"),
    "bias": ({"protocol": "seed", "model": "logreg"}, "seed"),
    "project": ({"protocol": "project"}, "project"),
}
EVAL_EVERY = 100  # every checkpoint but 936 is a multiple; the last step is always evaluated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/amazon-seed/ablation"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    datasets = {p: load_dataset("amazon", protocol=p) for p in ("seed", "project")}
    print("| scheme | variant | " + " | ".join(f"AUC @{s}" for s in CHECKPOINTS) + " |")
    print("|---|---|" + "---|" * len(CHECKPOINTS))
    for scheme, code in SCHEMES.items():
        for variant in args.variants.split(","):
            changes, features = VARIANTS[variant]
            name = f"{scheme}-{variant}-s{args.seed}"
            cfg = build_config(
                {"dataset": "amazon", "n": 15, "b": 5, "attack": "directional", "code": code,
                 "seed": args.seed, "eval_every": EVAL_EVERY, "runs_dir": str(args.out),
                 "run_name": name} | changes
            )  # fmt: skip
            summary = train_inprocess(prepare(cfg, dataset=datasets[features]), progress=False)
            curve = read_curve(Path(summary["run_dir"]))
            cells = " | ".join(f"{curve[s]:.4f}" for s in CHECKPOINTS)
            print(f"| {LABELS[scheme]} | {variant} | {cells} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
