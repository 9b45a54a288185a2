"""The baselines table of results/README.md: final accuracy of every scheme under each attack.

    pip install -e '.[byzfl]'                                  # ByzFL's aggregators
    nice -n 10 .venv/bin/python results/baselines.py --dataset digits  # resumable
    .venv/bin/python results/embed_tables.py results/README.md # embeds results/baselines/*.md

Every cell is one in-process run (``election train``) at n = N, b = B, seed SEED, Byzantine set
drawn by the seed: the packed sign-majority schemes (SignSGD-MV on the uncoded assignment and
the election code with the deterministic assignment, the dataset preset's signSGD lr) against
the float baselines (the paper's coordinate-wise median and ByzFL's median, trimmed mean, Krum,
geometric median and centered clipping through ``--scheme byzfl:NAME``, f = b, uncoded, plain
momentum SGD at lr FLOAT_LR[dataset]). Attacks of the float path as the registry defines them
(docs/attacks.md): none, reverse, random, omniscient. Columns: final test accuracy per attack, the
worst of the attacked runs, and the bytes one worker sends per round.

Finished cells are kept in ``results/baselines/<dataset>.csv`` (key: label + attack) and skipped
on a rerun; the Markdown table is rewritten from the CSV after every cell.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from election.config import build_config  # noqa: E402
from election.training.loop import train_inprocess  # noqa: E402
from election.training.setup import prepare  # noqa: E402

N, B, SEED = 5, 1, 0
ATTACKS = ("none", "reverse", "random", "omniscient")
# Fashion-MNIST: fewer cells on the 2 CPU cores (byzfl:median equals the paper's median at odd n,
# tests/unit/test_byzfl_scheme.py; random is the mildest attack on digits)
DATASET_ATTACKS = {"digits": ATTACKS, "fashion-mnist": ("none", "reverse", "omniscient")}
SKIPPED = {"digits": (), "fashion-mnist": ("byzfl:median",)}
# lr of the float schemes: the best of {0.003, 0.01, 0.03, 0.1} for plain mean SGD without attack
# (digits: 0.975, 0.983, 0.986, 0.900 final accuracy; the command is in results/README.md)
FLOAT_LR = {"digits": 0.03, "fashion-mnist": 0.03}
STEPS = {
    "digits": 0,
    "fashion-mnist": 200,
}  # 0 = the dataset preset's epochs (fashion: 2 CPU cores)
LINEUP: tuple[tuple[str, dict[str, Any]], ...] = (
    ("SignSGD-MV (packed, uncoded)", {"scheme": "majority", "code": "uncoded"}),
    ("election code (packed, deterministic)", {"scheme": "majority", "code": "deterministic"}),
    ("median (paper baseline, float)", {"scheme": "median", "float": True}),
    ("byzfl:median", {"scheme": "byzfl:median", "float": True}),
    ("byzfl:trimmed-mean", {"scheme": "byzfl:trimmed-mean", "float": True}),
    ("byzfl:krum", {"scheme": "byzfl:krum", "float": True}),
    ("byzfl:geometric-median", {"scheme": "byzfl:geometric-median", "float": True}),
    ("byzfl:centered-clipping", {"scheme": "byzfl:centered-clipping", "float": True}),
)
COLUMNS = ("label", "attack", "scheme", "code", "lr", "steps", "accuracy", "bytes_per_worker")


def config_of(dataset: str, label: str, attack: str, runs: Path) -> Any:
    spec = dict(dict(LINEUP)[label])
    is_float = spec.pop("float", False)
    values: dict[str, Any] = {
        "dataset": dataset,
        "n": N,
        "b": B,
        "code": "uncoded",
        "attack": attack,
        "seed": SEED,
        "threads": 1,
        "runs_dir": str(runs),
        "accusation": "off",
    } | spec
    if is_float:
        values["lr"] = FLOAT_LR[dataset]
    if STEPS[dataset]:
        values["steps"] = STEPS[dataset]
    return build_config(values)


def run_cell(dataset: str, label: str, attack: str, runs: Path) -> dict[str, Any]:
    cfg = config_of(dataset, label, attack, runs)
    summary = train_inprocess(prepare(cfg), progress=False)
    per_round = float(summary["wire_bytes_per_round"])
    return {
        "label": label,
        "attack": attack,
        "scheme": cfg.scheme,
        "code": cfg.code,
        "lr": cfg.lr,
        "steps": summary["steps"],
        "accuracy": round(float(summary["final"]["accuracy"]), 4),
        "bytes_per_worker": round(per_round / N),
    }


def table(rows: list[dict[str, str]], dataset: str) -> str:
    by = {(r["label"], r["attack"]): r for r in rows}
    attacks = DATASET_ATTACKS[dataset]
    head = "| scheme | lr | " + " | ".join(attacks) + " | worst attacked | bytes/worker/round |"
    lines = [head, "|---" * (len(attacks) + 4) + "|"]
    for label, _ in LINEUP:
        cells = [by.get((label, a)) for a in attacks]
        done = [c for c in cells if c is not None]
        if not done:
            continue
        accs = ["-" if c is None else f"{float(c['accuracy']):.4f}" for c in cells]
        attacked = [float(c["accuracy"]) for c in cells[1:] if c is not None]
        worst = f"{min(attacked):.4f}" if len(attacked) == len(attacks) - 1 else "-"
        size = f"{int(done[0]['bytes_per_worker']):,}"
        lines.append(f"| {label} | {done[0]['lr']} | {' | '.join(accs)} | {worst} | {size} |")
    steps = rows[0]["steps"] if rows else "?"
    lines.append("")
    lines.append(f"{dataset}, n = {N}, b = {B}, seed {SEED}, {steps} steps; final test accuracy.")
    return "\n".join(lines) + "\n"


def _run(job: tuple[str, str, str, str]) -> dict[str, str]:
    dataset, label, attack, runs = job
    return {c: str(v) for c, v in run_cell(dataset, label, attack, Path(runs)).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=tuple(FLOAT_LR), default="digits")
    parser.add_argument("--out", default=str(ROOT / "results" / "baselines"))
    parser.add_argument("--jobs", type=int, default=1, help="cells at once, one process each")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out / f"{args.dataset}.csv", out / f"{args.dataset}.md"
    rows: list[dict[str, str]] = []
    if csv_path.is_file():
        with csv_path.open() as f:
            rows = list(csv.DictReader(f))
    done = {(r["label"], r["attack"]) for r in rows}
    labels = [label for label, _ in LINEUP if label not in SKIPPED[args.dataset]]
    todo = [
        (label, a)
        for label in labels
        for a in DATASET_ATTACKS[args.dataset]
        if (label, a) not in done
    ]
    print(f"{len(done)} finished earlier, {len(todo)} to run", flush=True)
    runs = str(ROOT / "runs" / "baselines" / args.dataset)  # run folders (not committed)
    jobs = [(args.dataset, label, attack, runs) for label, attack in todo]
    with multiprocessing.get_context("spawn").Pool(max(1, args.jobs)) as pool:
        for k, row in enumerate(pool.imap_unordered(_run, jobs), 1):
            rows.append(row)
            with csv_path.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
            md_path.write_text(table(rows, args.dataset))
            print(
                f"[{k}/{len(todo)}] {row['label']} / {row['attack']}: {row['accuracy']}", flush=True
            )
    md_path.write_text(table(rows, args.dataset))
    print(md_path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
