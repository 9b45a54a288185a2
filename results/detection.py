"""The detection table of results/README.md: accusation on digits and Fashion-MNIST over n, codes
and attacks.

    nice -n 10 .venv/bin/python results/detection.py          # runs every cell, prints the table
    .venv/bin/python results/embed_tables.py results/README.md  # reruns it into results/README.md

Every cell is one in-process run (``election train`` with the accusation on, its default):
n = 5, 9, 15 with b = 1, 2, 3, STEPS rounds on NUM_TRAIN training samples, seed SEED, Byzantine
set drawn by the seed. Digits (embedded data, its MLP): every code kind (uncoded, Bernoulli
r = 3, deterministic, ternary), an attack-free run and every attack of the core registry that
sends a vote (reverse, directional, random, omniscient, and the sign-native margin, stochastic,
mimic, label-flip, collude, collude-quorum). Fashion-MNIST (the Debian package's IDX files, its
preset CNN): the attack-free run and the sign-native attacks on the Bernoulli and ternary codes
(FASHION). The test split is cut to TEST_SAMPLES (the table reports no accuracy). A dataset
whose files are missing is skipped with its reason on stderr. JOBS cells run at a time.
Columns, from the run's ``summary.json`` and ``accusation.csv`` (docs/accusation.md):

- proven: Byzantine workers proven in some round / b (the proven detection rate);
- first proof: the mean round of the first proof over the proven Byzantine workers (0-based);
- false proofs: honest workers named by a proof in some round (must be 0);
- AUC: ROC AUC of the final scores s_j, Byzantine against honest (ties count 1/2; "-" on an
  attack-free run).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import multiprocessing
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from election.attacks import SIGN_NATIVE  # noqa: E402
from election.config import build_config  # noqa: E402
from election.data import Dataset, load_dataset  # noqa: E402
from election.errors import ElectionError  # noqa: E402
from election.training.accusing import ACCUSATION_FILE  # noqa: E402
from election.training.loop import train_inprocess  # noqa: E402
from election.training.setup import prepare  # noqa: E402

SIZES = ((5, 1), (9, 2), (15, 3))  # (n, b)
CODES = ("uncoded", "bernoulli", "deterministic", "ternary")
PAPER_ATTACKS = ("none", "reverse", "directional", "random", "omniscient")
ATTACKS = (*PAPER_ATTACKS, *SIGN_NATIVE)
# Fashion-MNIST: the attack-free run and the sign-native attacks on the two code kinds that give
# proofs at every n (its CNN makes a cell several times a digits cell)
FASHION = ("fashion-mnist", ("bernoulli", "ternary"), ("none", *SIGN_NATIVE))
GRID = (("digits", CODES, ATTACKS), FASHION)  # (dataset, its codes, its attacks)
JOBS = 2  # cells run in parallel, one per core of the shared 2-core machine
BERNOULLI_R = 3.0  # expected redundancy of the Bernoulli codes
STEPS = 3  # rounds per run: small, so the table runs in minutes on 2 cores
SEED = 1
NUM_TRAIN = 300  # training samples used (the first 300 of the split)
TEST_SAMPLES = 200  # test samples kept: the table reports no accuracy
HEADER = (
    "| dataset | n | b | code | attack | Byzantine | proven | first proof | false proofs | AUC |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
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


def cell(data: Dataset, n: int, b: int, code: str, attack: str, runs: Path) -> dict[str, Any]:
    cfg = build_config(
        {
            "dataset": data.name,
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
    summary = train_inprocess(prepare(cfg, dataset=data), progress=False)
    byz = set(summary["byzantine"])
    acc = summary["accusation"]
    named = ever_named(Path(summary["run_dir"]))
    scores = acc["final_scores"]
    first = [r for j, r in acc["first_proof_round"].items() if int(j) in byz]
    return {
        "dataset": data.name,
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
        f"| {c['dataset']} | {c['n']} | {c['b']} | {c['code']} | {c['attack']} | {byz} | "
        f"{proven} | {first} | {false} | {auc} |"
    )


@functools.cache
def small(name: str) -> Dataset | None:
    """The dataset cut to NUM_TRAIN / TEST_SAMPLES, or None (reason on stderr) if missing."""
    try:
        data = load_dataset(name, num_train=NUM_TRAIN)
    except ElectionError as exc:
        print(f"detection: skipping {name}: {exc}", file=sys.stderr)
        return None
    return dataclasses.replace(
        data, test_x=data.test_x[:TEST_SAMPLES], test_y=data.test_y[:TEST_SAMPLES]
    )


Spec = tuple[str, int, int, str, str]  # (dataset, n, b, code, attack)


def run_cell(spec: Spec) -> str:
    """One cell's table row (in a worker process: the dataset is loaded once per process)."""
    name, n, b, code, attack = spec
    data = small(name)
    assert data is not None
    with tempfile.TemporaryDirectory() as tmp:
        return table_row(cell(data, n, b, code, attack, Path(tmp)))


def specs() -> list[Spec]:
    """Every cell of GRID whose dataset is present, in table order."""
    return [
        (name, n, b, code, attack)
        for name, codes, attacks in GRID
        if small(name) is not None
        for n, b in SIZES
        for code in codes
        for attack in attacks
    ]


def table(jobs: int = JOBS) -> str:
    rows = []
    context = multiprocessing.get_context("spawn")  # no fork of a process that ran torch
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        for row in pool.map(run_cell, specs()):
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    return "\n".join([HEADER, *rows])


def main() -> int:
    print(table())  # the per-cell rows go to stderr as they finish
    return 0


if __name__ == "__main__":
    sys.exit(main())
