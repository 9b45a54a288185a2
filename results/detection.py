"""The detection tables of results/README.md: accusation on digits and Fashion-MNIST over n,
codes, attacks and the two selections of the Byzantine set.

    nice -n 10 .venv/bin/python results/detection.py          # runs the missing cells
    nice -n 10 .venv/bin/python results/detection.py --fresh  # runs every cell again

Every cell is one in-process run (``election train`` with the accusation on, its default):
n = 5, 9, 15 with b = 1, 2, 3, STEPS rounds on NUM_TRAIN training samples, seed SEED. Both
datasets (digits: embedded data, its MLP; Fashion-MNIST: the Debian package's IDX files, its
preset CNN), every code kind (uncoded, Bernoulli r = 3, deterministic, ternary), an
attack-free run and every attack of the core registry that sends a vote (reverse, directional,
random, omniscient, and the sign-native margin, stochastic, mimic, label-flip, collude,
collude-quorum), under two selections: ``random`` (one set drawn by the seed, attacking every
round) and ``mobile`` (a fresh set every round). The test split is cut to TEST_SAMPLES (the
tables report no accuracy). A dataset whose files are missing is skipped with its reason on
stderr. JOBS cells run at a time; each finished cell is appended to OUT/cells.csv at once, so
an interrupted run resumes where it stopped. Columns (docs/accusation.md), from the run's
``summary.json`` and ``accusation.csv``:

- proven: random: Byzantine workers proven in some round / b (the proven detection rate);
  mobile: (round, worker) pairs with the worker proven in a round it was Byzantine / STEPS * b;
- first proof: random: the mean round of the first proof over the proven Byzantine workers;
  mobile: the first round with a proof (0-based);
- false proofs: random: honest workers named by a proof in some round; mobile: (round, worker)
  pairs naming a worker honest in that round (either must be 0: a proof is sound);
- AUC: ROC AUC of the scores, Byzantine against honest (ties count 1/2; "-" on an attack-free
  run): random: the final scores s_j; mobile: every round's s_jt against that round's set (an
  exponentially weighted score lags a set that moves, so a low AUC is expected there).

Files written: OUT/cells.csv (every cell), OUT/<dataset>.md (its full table), OUT/summary.md
(per dataset and selection: attacks by code, proven summed over n, the mean AUC, false proofs),
which results/README.md embeds.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import json
import multiprocessing
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from election.attacks import MOBILE, SIGN_NATIVE  # noqa: E402
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
DATASETS = ("digits", "fashion-mnist")
SELECTIONS = ("random", MOBILE)  # the seed's one set | a fresh set every round
JOBS = 2  # cells run in parallel, one per core of the shared 2-core machine
BERNOULLI_R = 3.0  # expected redundancy of the Bernoulli codes
STEPS = 3  # rounds per run: small, so the tables run in minutes on 2 cores
SEED = 1
NUM_TRAIN = 300  # training samples used (the first 300 of the split)
TEST_SAMPLES = 200  # test samples kept: the tables report no accuracy
OUT = ROOT / "results" / "detection"  # cells.csv, <dataset>.md, summary.md
CELL_FIELDS = (
    "dataset", "selection", "n", "b", "code", "attack",
    "byzantine", "proven", "total", "first", "false", "auc",
)  # fmt: skip
KEY = CELL_FIELDS[:6]  # what names a cell
HEADER = (
    "| n | b | code | attack | Byzantine | proven | first proof | false proofs | AUC |\n"
    "|---|---|---|---|---|---|---|---|---|"
)

Spec = tuple[str, str, int, int, str, str]  # (dataset, selection, n, b, code, attack)


def roc_auc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """P(score of a Byzantine worker > score of an honest one), ties 1/2 (Mann-Whitney)."""
    if not positive or not negative:
        return None
    wins = sum((p > q) + 0.5 * (p == q) for p in positive for q in negative)
    return wins / (len(positive) * len(negative))


def proof_rounds(run_dir: Path) -> list[tuple[set[int], list[float | None]]]:
    """Per round of accusation.csv: the workers its proof named and the scores s_jt."""
    with (run_dir / ACCUSATION_FILE).open() as f:
        rows = list(csv.DictReader(f))
    n = sum(name.startswith("score_") for name in rows[0]) if rows else 0
    return [
        (
            {int(j) for j in row["proven"].split(";") if j},
            [float(row[f"score_{j}"]) if row[f"score_{j}"] else None for j in range(n)],
        )
        for row in rows
    ]


def score_static(
    byzantine: set[int], rounds: list[tuple[set[int], list[float | None]]], final: list[Any],
    first_proof: dict[str, int],
) -> dict[str, Any]:  # fmt: skip
    """The columns for one set attacking every round (module docstring: random)."""
    named = set().union(*(proven for proven, _ in rounds))
    first = [r for j, r in first_proof.items() if int(j) in byzantine]
    n = len(final)
    return {
        "proven": len(named & byzantine),
        "total": len(byzantine),
        "first": sum(first) / len(first) if first else None,
        "false": len(named - byzantine),
        "auc": roc_auc(
            [final[j] for j in byzantine if final[j] is not None],
            [final[j] for j in range(n) if j not in byzantine and final[j] is not None],
        ),
    }


def score_mobile(
    sets: list[set[int]], rounds: list[tuple[set[int], list[float | None]]]
) -> dict[str, Any]:
    """The columns for a set redrawn every round, counted per (round, worker) pair (module
    docstring: mobile); ``sets[t]`` is round t's Byzantine set."""
    pairs = list(zip(sets, rounds, strict=True))
    hits = [len(proven & byz) for byz, (proven, _) in pairs]
    positive = [s for byz, (_, sc) in pairs for j, s in enumerate(sc) if j in byz and s is not None]
    negative = [
        s for byz, (_, sc) in pairs for j, s in enumerate(sc) if j not in byz and s is not None
    ]
    return {
        "proven": sum(hits),
        "total": sum(len(byz) for byz in sets),
        "first": next((float(t) for t, h in enumerate(hits) if h), None),
        "false": sum(len(proven - byz) for byz, (proven, _) in pairs),
        "auc": roc_auc(positive, negative),
    }


def cell(data: Dataset, spec: Spec, runs: Path) -> dict[str, Any]:
    """One run and its columns (CELL_FIELDS)."""
    name, selection, n, b, code, attack = spec
    cfg = build_config(
        {
            "dataset": name,
            "n": n,
            "b": b,
            "code": code,
            "r": BERNOULLI_R,
            "attack": attack,
            "byzantine_select": selection,
            "steps": STEPS,
            "eval_every": STEPS,
            "seed": SEED,
            "num_train": NUM_TRAIN,
            "threads": 1,
            "runs_dir": str(runs),
            "accusation": "on",
        }
    )
    setup = prepare(cfg, dataset=data)
    summary = train_inprocess(setup, progress=False)
    rounds = proof_rounds(Path(summary["run_dir"]))
    acc = summary["accusation"]
    if setup.mobile:
        columns = score_mobile([set(setup.byzantine_at(t)) for t in range(len(rounds))], rounds)
        byzantine = MOBILE
    else:
        byz = set(summary["byzantine"])
        columns = score_static(byz, rounds, acc["final_scores"], acc["first_proof_round"])
        byzantine = ",".join(map(str, sorted(byz)))
    return dict(zip(KEY, spec, strict=True)) | {"byzantine": byzantine} | columns


def table_row(c: dict[str, Any]) -> str:
    """One row of a dataset's full table (``c`` as read back from cells.csv: strings)."""
    attacked = bool(c["byzantine"])
    proven = f"{c['proven']}/{c['total']}" if attacked else "-"
    first = f"{float(c['first']):.1f}" if c["first"] not in ("", None) else "-"
    auc = f"{float(c['auc']):.2f}" if c["auc"] not in ("", None) else "-"
    false = f"**{c['false']}**" if int(c["false"]) else "0"
    return (
        f"| {c['n']} | {c['b']} | {c['code']} | {c['attack']} | {c['byzantine'] or '-'} | "
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


def run_cell(spec: Spec) -> dict[str, Any]:
    """One cell (in a worker process: the dataset is loaded once per process)."""
    data = small(spec[0])
    assert data is not None
    with tempfile.TemporaryDirectory() as tmp:
        return cell(data, spec, Path(tmp))


def specs() -> list[Spec]:
    """Every cell whose dataset is present, in table order (no attack-free mobile cell)."""
    return [
        (name, selection, n, b, code, attack)
        for name in DATASETS
        if small(name) is not None
        for selection in SELECTIONS
        for n, b in SIZES
        for code in CODES
        for attack in ATTACKS
        if not (selection == MOBILE and attack == "none")
    ]


def key_of(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in KEY)


def read_cells(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [row for row in rows if None not in row and None not in row.values()]  # whole rows


def run_missing(path: Path, jobs: int) -> None:
    """Run every cell not in cells.csv yet, appending each as it finishes (progress on stderr)."""
    done = {key_of(row) for row in read_cells(path)}
    todo = [spec for spec in specs() if key_of(dict(zip(KEY, spec, strict=True))) not in done]
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists() or path.stat().st_size == 0
    context = multiprocessing.get_context("spawn")  # no fork of a process that ran torch
    with path.open("a", newline="") as f, ProcessPoolExecutor(jobs, mp_context=context) as pool:
        writer = csv.DictWriter(f, CELL_FIELDS)
        if fresh:
            writer.writeheader()
        for i, row in enumerate(pool.map(run_cell, todo), 1):
            writer.writerow({k: "" if row[k] is None else row[k] for k in CELL_FIELDS})
            f.flush()
            print(f"detection: {i}/{len(todo)} {json.dumps(key_of(row))}", file=sys.stderr)


def full_table(rows: list[dict[str, str]], selection: str) -> str:
    picked = [r for r in rows if r["selection"] == selection]
    return "\n".join([HEADER, *map(table_row, picked)])


def summary_table(rows: list[dict[str, str]]) -> str:
    """Attacks by code: proven summed over n (and its total), the mean AUC over n; false proofs
    summed over every cell of the attack."""
    head = "| attack | " + " | ".join(CODES) + " | false proofs |"
    lines = [head, "|---" * (len(CODES) + 2) + "|"]
    for attack in dict.fromkeys(r["attack"] for r in rows):
        cells, false = [], 0
        for code in CODES:
            mine = [r for r in rows if r["attack"] == attack and r["code"] == code]
            false += sum(int(r["false"]) for r in mine)
            aucs = [float(r["auc"]) for r in mine if r["auc"]]
            proven = sum(int(r["proven"]) for r in mine)
            total = sum(int(r["total"]) for r in mine)
            auc = f" · AUC {sum(aucs) / len(aucs):.2f}" if aucs else ""
            cells.append(f"{proven}/{total}{auc}" if total else "-")
        lines.append(f"| {attack} | " + " | ".join(cells) + f" | {false} |")
    return "\n".join(lines)


def write_tables(rows: list[dict[str, str]], out: Path) -> None:
    """OUT/<dataset>.md (both selections) and OUT/summary.md, in table order."""
    order = {key_of(dict(zip(KEY, spec, strict=True))): i for i, spec in enumerate(specs())}
    rows = sorted(rows, key=lambda r: order.get(key_of(r), len(order)))
    summary = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        mine = [r for r in rows if r["dataset"] == name]
        parts = []
        for selection in SELECTIONS:
            chosen = [r for r in mine if r["selection"] == selection]
            if not chosen:
                continue
            title = f"{name}, {selection} selection ({len(chosen)} runs)"
            parts.append(f"#### {title}\n\n{full_table(mine, selection)}\n")
            summary.append(f"#### {title}\n\n{summary_table(chosen)}\n")
        (out / f"{name}.md").write_text("\n".join(parts))
    (out / "summary.md").write_text("\n".join(summary))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="run every cell again")
    parser.add_argument("--jobs", type=int, default=JOBS, help="cells run at a time")
    args = parser.parse_args(argv)
    path = OUT / "cells.csv"
    if args.fresh and path.exists():
        path.unlink()
    run_missing(path, max(1, args.jobs))
    rows = read_cells(path)
    write_tables(rows, OUT)
    false = sum(int(r["false"]) for r in rows)
    print(f"detection: {len(rows)} cells, {false} false proofs; tables in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
