"""Table and plot of the Amazon seed-protocol replay (results/amazon-seed/reproduce.sh).

    python results/amazon_seed_summary.py RUNS_DIR [--plot PNG] [--readme results/README.md]

Reads RUNS_DIR/<scheme>-s<seed>/metrics.csv (scheme: signsgd-mv, bernoulli), prints the table of
election.paper.amazon (mean and range over the Byzantine draws at steps 100..936 beside the
official run's AUC) and, with --readme, replaces the README block between
``<!-- amazon-seed-table:start -->`` and ``<!-- amazon-seed-table:end -->`` with exactly that
printed table (``--block`` names another block: the project protocol's table).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from election.paper.amazon import OFFICIAL_AUC, format_table, plot, read_curve, summarize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs_dir", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--readme", type=Path)
    parser.add_argument("--block", default="amazon-seed-table", help="README block name")
    parser.add_argument("--title", default="Amazon, seed protocol: n=15, b=5, directional attack")
    args = parser.parse_args(argv)
    start, end = f"<!-- {args.block}:start -->", f"<!-- {args.block}:end -->"
    curves = {
        scheme: [read_curve(d) for d in sorted(args.runs_dir.glob(f"{scheme}-s*"))]
        for scheme in OFFICIAL_AUC
    }
    if not all(curves.values()):
        print(f"no runs of every scheme under {args.runs_dir}", file=sys.stderr)
        return 2
    table = format_table(summarize(curves))
    print(table)
    if args.plot:
        plot(curves, args.plot, title=args.title)
    if args.readme:
        text = args.readme.read_text()
        block = f"{start}\n{table}\n{end}"
        new, count = re.subn(re.escape(start) + ".*?" + re.escape(end), block, text, flags=re.S)
        if count != 1:
            print(f"{args.readme}: needs exactly one {start} ... {end} block", file=sys.stderr)
            return 2
        args.readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
