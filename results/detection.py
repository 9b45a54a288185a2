"""The detection table of results/README.md: accusation on digits over n, codes and attacks.

    nice -n 10 .venv/bin/python results/detection.py          # runs every cell, prints the table
    .venv/bin/python results/embed_tables.py results/README.md  # reruns it into results/README.md

Every cell is one in-process run (``election train`` with the accusation on, its default) of
the embedded digits data: n = 5, 9, 15 with b = 1, 2, 3, every code kind (uncoded, Bernoulli
r = 3, deterministic, ternary), the attacks of the core registry that send a vote (reverse,
directional, random, omniscient) and an attack-free run, STEPS rounds, seed SEED, Byzantine set
drawn by the seed. Columns, from the run's ``summary.json`` and ``accusation.csv``
(docs/accusation.md):

- proven: Byzantine workers proven in some round / b (the proven detection rate);
- first proof: the mean round of the first proof over the proven Byzantine workers (0-based);
- false proofs: honest workers named by a proof in some round (must be 0);
- AUC: ROC AUC of the final scores s_j, Byzantine against honest (ties count 1/2; "-" on an
  attack-free run).
"""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from election.config import build_config  # noqa: E402
from election.training.accusing import ACCUSATION_FILE  # noqa: E402
from election.training.loop import train_inprocess  # noqa: E402
from election.training.setup import prepare  # noqa: E402

SIZES = ((5, 1), (9, 2), (15, 3))  # (n, b)
CODES = ("uncoded", "bernoulli", "deterministic", "ternary")
ATTACKS = ("none", "reverse", "directional", "random", "omniscient")
BERNOULLI_R = 3.0  # expected redundancy of the Bernoulli codes
STEPS = 6  # rounds per run: small, so the table runs in minutes on 2 cores
SEED = 1
NUM_TRAIN = 300  # digits training samples used
HEADER = (
    "| n | b | code | attack | Byzantine | proven | first proof | false proofs | AUC |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def roc_auc(positive: list[float], negative: list[float]) -> float | None:
    """P(score of a Byzantine worker > score of an honest one), ties 1/2 (Mann-Whitney)."""
    if not positive or not negative:
        return None
    wins = sum((p > q) + 0.5 * (p == q) for p in positive for q in negative)
    return wins / (len(positive) * len(negative))


def ever_named(run_dir: Path) -> set[int]:
    """Every worker some round's proof named (accusation.csv's ``proven`` column)."""
    with (run_dir / ACCUSATION_FILE).open() as f:
        return {int(j) for row in csv.DictReader(f) for j in row["proven"].split(";") if j}


def cell(n: int, b: int, code: str, attack: str, runs: Path) -> dict[str, Any]:
    cfg = build_config(
        {
            "dataset": "digits",
            "n": n,
            "b": b,
            "code": code,
            "r": BERNOULLI_R,
            "attack": attack,
            "steps": STEPS,
            "eval_every": STEPS,
            "seed": SEED,
            "num_train": NUM_TRAIN,
            "threads": 1,
            "runs_dir": str(runs),
            "accusation": "on",
        }
    )
    summary = train_inprocess(prepare(cfg), progress=False)
    byz = set(summary["byzantine"])
    acc = summary["accusation"]
    named = ever_named(Path(summary["run_dir"]))
    scores = acc["final_scores"]
    first = [r for j, r in acc["first_proof_round"].items() if int(j) in byz]
    return {
        "n": n,
        "b": b,
        "code": code,
        "attack": attack,
        "byzantine": sorted(byz),
        "proven": len(named & byz),
        "first": sum(first) / len(first) if first else None,
        "false": len(named - byz),
        "auc": roc_auc(
            [scores[j] for j in byz if scores[j] is not None],
            [scores[j] for j in range(n) if j not in byz and scores[j] is not None],
        ),
    }


def table_row(c: dict[str, Any]) -> str:
    byz = ",".join(map(str, c["byzantine"])) or "-"
    proven = "-" if not c["byzantine"] else f"{c['proven']}/{len(c['byzantine'])}"
    first = "-" if c["first"] is None else f"{c['first']:.1f}"
    auc = "-" if c["auc"] is None else f"{c['auc']:.2f}"
    false = f"**{c['false']}**" if c["false"] else "0"
    return (
        f"| {c['n']} | {c['b']} | {c['code']} | {c['attack']} | {byz} | {proven} | {first} | "
        f"{false} | {auc} |"
    )


def table() -> str:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, b in SIZES:
            for code in CODES:
                for attack in ATTACKS:
                    c = cell(n, b, code, attack, Path(tmp))
                    rows.append(table_row(c))
                    print(rows[-1], file=sys.stderr, flush=True)
    return "\n".join([HEADER, *rows])


def main() -> int:
    print(table())  # the per-cell rows go to stderr as they finish
    return 0


if __name__ == "__main__":
    sys.exit(main())
