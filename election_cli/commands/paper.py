"""``election paper list | run FIG``: the paper's run.sh lines, Amazon run and MPI run as presets.

    election paper list [--json]
    election paper run FIG [--scheme KEY,...] [--dataset-root DIR] [--device D] [--dry-run]
                           [--runs-dir DIR] [--steps N] [--num-train N]

``run`` trains each line of the figure (the Amazon figure: every Byzantine draw), writes a run
folder per line plus ``figure.png`` in the paper's layout (one panel per x axis of the figure)
and ``figure.json``; ``--dry-run`` prints the resolved TrainConfig of every line as JSON and
trains nothing. ``--steps``/``--num-train`` shorten a run for a smoke test. docs/paper.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from election.errors import ConfigError
from election.notices import warn
from election.paper.presets import FIGURES, find_figure
from election.paper.resolve import Resolved, official_byzantine_ranks, resolve_figure

LIST_COLUMNS = (
    "figure", "scheme", "source", "code", "r", "n", "b", "batch", "partition", "attack",
    "scheme_kind", "model", "epochs", "milestones", "seed", "eval_every", "official_attackers",
)  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "paper",
        help="the paper's run.sh lines, Amazon and MPI runs as named presets",
        description="List or run the paper's experiments as the official code ran them.",
    )
    sub = parser.add_subparsers(dest="paper_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="every preset and its resolved configuration")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run_list)
    p = sub.add_parser("run", help="run a figure's lines and plot it")
    p.add_argument("figure", help=f"one of {', '.join(FIGURES)} (4a, 4d name 4ad)")
    p.add_argument("--scheme", default="", help="comma-separated line keys (default: all)")
    p.add_argument("--dataset-root", help="folder with the dataset files")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:K (replaces run.sh's --gpu_num)")
    p.add_argument("--runs-dir", default="runs", help="parent folder of the figure's folder")
    p.add_argument("--steps", type=int, help="stop every line after N steps (smoke tests)")
    p.add_argument("--num-train", type=int, help="use only the first N training samples")
    p.add_argument("--dry-run", action="store_true", help="print the configurations as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_figure)


def list_rows() -> list[dict[str, Any]]:
    """One row per preset run: the fields a reader checks against run.sh."""
    rows = []
    for figure in FIGURES.values():
        for r in resolve_figure(figure):
            c = r.cfg
            ranks = official_byzantine_ranks(c.n, c.b, c.seed) if figure.paper_flags else None
            rows.append(
                {
                    "figure": figure.name,
                    "scheme": r.run_name,
                    "source": r.line.source,
                    "code": c.code,
                    "r": c.r if c.code == "bernoulli" else None,
                    "n": c.n,
                    "b": c.b,
                    "batch": c.batch_size,
                    "partition": c.batch_size // c.n,
                    "attack": c.attack if c.b else "none",
                    "scheme_kind": c.scheme,
                    "model": c.model,
                    "epochs": c.epochs,
                    "milestones": list(c.lr_milestones),
                    "seed": c.seed,
                    "eval_every": c.eval_every,
                    "worker_noise_std": c.worker_noise_std,
                    "protocol": c.protocol,
                    "transport": c.transport,
                    "flags": r.line.flags,
                    # the attackers main.py really ran: its ranks 1..n-1 (docs/paper.md)
                    "official_byzantine_ranks": None if ranks is None else list(ranks),
                    "official_attackers": None if ranks is None else sum(x < c.n for x in ranks),
                }
            )
    return rows


def run_list(args: argparse.Namespace) -> int:
    rows = list_rows()
    if args.json:
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return 0
    print("| " + " | ".join(LIST_COLUMNS) + " |")
    print("|" + "---|" * len(LIST_COLUMNS))
    for row in rows:
        cells = ["" if row[c] is None else str(row[c]) for c in LIST_COLUMNS]
        print("| " + " | ".join(cells) + " |")
    return 0


def run_figure(args: argparse.Namespace) -> int:
    figure = find_figure(args.figure)
    schemes = [s.strip() for s in args.scheme.split(",") if s.strip()]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = Path(args.runs_dir) / f"paper-{figure.name}-{stamp}"
    extra = ["--runs-dir", str(out_dir)]
    for flag, value in (
        ("--data-root", args.dataset_root),
        ("--device", args.device),
        ("--steps", args.steps),
        ("--num-train", args.num_train),
    ):
        if value is not None:
            extra += [flag, str(value)]
    runs = resolve_figure(figure, extra, schemes)
    if args.dry_run:
        print(json.dumps([r.to_json_dict() for r in runs], indent=2, sort_keys=True))
        return 0
    for line in sorted({n for r in runs for n in r.notices}):
        warn(line)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = [_train(r, quiet=args.quiet) for r in runs]
    from election.paper.figures import write_figure

    summary = write_figure(figure, runs, results, out_dir)
    print(summary["text"])
    print(f"figure: {summary['plot']}")
    return 0


def _train(run: Resolved, *, quiet: bool) -> dict[str, Any]:
    """Train one preset run in this process, or under mpirun for the MPI preset."""
    if run.cfg.transport == "mpi":
        return _train_mpi(run, quiet=quiet)
    from election_cli.commands.train import run_training

    return run_training(run.cfg, progress=not quiet)


def _train_mpi(run: Resolved, *, quiet: bool) -> dict[str, Any]:
    mpirun = shutil.which("mpirun", path=str(Path(sys.executable).parent)) or shutil.which("mpirun")
    if mpirun is None:
        raise ConfigError("the MPI preset needs mpirun (pip install mpich, or your MPI)")
    folder = Path(run.cfg.runs_dir)
    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / f"{run.run_name}.config.json"
    config_file.write_text(json.dumps(run.cfg.to_json_dict()))
    cmd = [mpirun, "-n", str(run.cfg.n + 1), sys.executable, "-m", "election", "mpi"]
    cmd += ["--config", str(config_file), "--json"] + (["--quiet"] if quiet else [])
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise ConfigError(f"mpirun exited with {proc.returncode}: {' '.join(cmd)}")
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return summary
