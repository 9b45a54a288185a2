"""``election grid SPEC``: run a JSON/TOML grid of training configs (docs/grid.md).

Exit status: 0 when every cell completed (or was skipped as invalid with ``skip_invalid``);
1 when some cell failed (its one line is in the table and on stderr); 2 on a bad spec.
"""

from __future__ import annotations

import argparse
import json
import sys

from election.grid import load_spec
from election.grid.driver import default_jobs, execute, grid_folder
from election.grid.table import format_markdown


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grid",
        help="run a grid of configs (resumable, parallel); table, heatmaps, cost frontier",
        description="Runs the cartesian product of a spec's axes; finished cells are skipped.",
    )
    parser.add_argument("spec", help="grid spec (.json, or .toml)")
    parser.add_argument("--out", help="grid folder (default runs/grid-<spec name>)")
    parser.add_argument(
        "--jobs", type=int, help="cells at once, one process each (default: os.cpu_count())"
    )
    parser.add_argument(
        "--retry-failed", action="store_true", help="rerun cells recorded as failed"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    outcome = execute(
        spec,
        grid_folder(spec, out=args.out),
        jobs=default_jobs(spec, args.jobs),
        retry_failed=args.retry_failed,
        progress=not args.quiet,
    )
    if args.json:
        print(json.dumps({"grid_dir": str(outcome.grid_dir), "rows": outcome.rows}))
    else:
        print(format_markdown(outcome.rows, spec.axes))
        print(f"\ngrid folder: {outcome.grid_dir}")
    for row in outcome.failed:
        print(f"election: cell {row['index']} failed: {row['error']}", file=sys.stderr)
    return 1 if outcome.failed else 0
