"""Embed a grid's table and figures in README.md (the "A grid of runs" section).

    .venv/bin/election grid examples/grid-digits.json --jobs 2   # writes runs/grid-digits/
    .venv/bin/python examples/embed_grid.py runs/grid-digits

Replaces the lines between ``<!-- grid-table:start -->`` and ``<!-- grid-table:end -->`` with
the grid's ``grid.md`` (the table ``election grid`` printed) and copies its worst-case heatmap
and cost frontier to ``examples/grid-digits/`` as produced.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- grid-table:start -->", "<!-- grid-table:end -->"
FIGURES = ("heatmap-worst.png", "frontier.png")  # copied next to the spec
FIGURE_DIR = ROOT / "examples" / "grid-digits"


def embed(readme: str, table: str) -> str:
    """``readme`` with the block between the markers replaced by ``table``."""
    head, start, rest = readme.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise SystemExit(f"embed_grid: README.md lacks the {START} ... {END} markers")
    return f"{head}{START}\n{table.strip()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grid_dir", nargs="?", default="runs/grid-digits")
    args = parser.parse_args(argv)
    grid_dir = Path(args.grid_dir)
    table = (grid_dir / "grid.md").read_text()
    if "| pending" in table or "| failed" in table:
        print(
            "embed_grid: the grid has unfinished or failed cells; rerun it first", file=sys.stderr
        )
        return 1
    readme = ROOT / "README.md"
    readme.write_text(embed(readme.read_text(), table))
    FIGURE_DIR.mkdir(parents=True, exist_ok=True)
    for name in FIGURES:
        shutil.copyfile(grid_dir / name, FIGURE_DIR / name)
    print(f"embedded {grid_dir / 'grid.md'} and {len(FIGURES)} figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
