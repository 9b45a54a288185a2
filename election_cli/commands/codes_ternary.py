"""The ternary parts of ``election codes``: design/write, and the ternary table.

``design --ternary --write (--all | --n N)`` regenerates records of data/ternary.json;
``table --ternary`` compares, per (n, b), the {-1, +1} code shipped as ``deterministic`` (how
much of {-1, 0, +1}^n it decodes exactly under the quorum decoder q = b + 1) with the shipped
ternary-perfect code (its ones, proven lower bound, method and movable-tie fraction).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from election.codes.store import shipped_entry
from election.codes.ternary import verify_ternary
from election.codes.ternary_store import (
    SHIPPED_NS,
    design_ternary_entry,
    shipped_ternary_entry,
    write_ternary_shipped,
)
from election.errors import CodeError

BINARY_ON_TERNARY_UP_TO = 11  # exhaustive check of the {-1, +1} codes on 3^n patterns


def design_ternary(args: argparse.Namespace) -> int:
    if not args.write:
        raise CodeError("--ternary designs the shipped ternary codes; add --write to confirm")
    if args.all == (args.n is not None):
        raise CodeError("give --all or --n N with --ternary --write")
    if args.b is not None and args.n is None:
        raise CodeError("--b with --ternary --write needs --n")
    ns = [n for n in SHIPPED_NS if n <= args.max_n] if args.all else [args.n]
    for n in ns:
        bs = range((n + 1) // 2) if args.b is None else [args.b]
        entries = [
            design_ternary_entry(
                n, b, ilp_seconds=args.time_limit, log=lambda s: print(s, file=sys.stderr)
            )
            for b in bs
        ]
        print(f"wrote {write_ternary_shipped(entries)}")
    return 0


def ternary_table_rows(max_n: int) -> list[dict[str, Any]]:
    rows = []
    for n in range(3, max_n + 1, 2):
        for b in range((n + 1) // 2):
            entry = shipped_ternary_entry(n, b)
            binary = shipped_entry(n, b)
            exact = None
            if binary is not None and n <= BINARY_ON_TERNARY_UP_TO:
                matrix = [[int(c) for c in row] for row in binary["rows"]]
                exact = verify_ternary(matrix, b, b + 1).exact_nonzero.fraction_ok
            rows.append(
                {
                    "n": n,
                    "b": b,
                    "binary_ones": None if binary is None else binary["ones"],
                    "binary_exact_on_ternary": exact,
                    "ternary_ones": None if entry is None else entry["ones"],
                    "lower_bound_ones": None if entry is None else entry["lower_bound_ones"],
                    "method": None if entry is None else entry["method"],
                    "movable_tie_fraction": None
                    if entry is None
                    else entry["movable_tie_fraction"],
                }
            )
    return rows


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _method_cell(row: dict[str, Any]) -> str:
    """The method, with the gap to the proven bound when the code is not proven minimal."""
    if row["method"] is None:
        return "-"
    gap = row["ternary_ones"] - row["lower_bound_ones"]
    return row["method"] if gap == 0 else f"{row['method']}, gap {gap}"


def ternary_table(args: argparse.Namespace) -> int:
    rows = ternary_table_rows(args.max_n)
    if args.json:
        print(json.dumps(rows))
        return 0
    print(
        "| n | b | {±1} code: ones | its exact share of {-1,0,+1}^n (q = b+1) "
        "| ternary-perfect: ones | lower bound | method | movable ties |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        exact = row["binary_exact_on_ternary"]
        print(
            f"| {row['n']} | {row['b']} | {_cell(row['binary_ones'], 'd')} "
            f"| {'-' if exact is None else f'{100 * exact:.2f} %'} "
            f"| {_cell(row['ternary_ones'], 'd')} | {_cell(row['lower_bound_ones'], 'd')} "
            f"| {_method_cell(row)} | {_cell(row['movable_tie_fraction'], '.4f')} |"
        )
    return 0
