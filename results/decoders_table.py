"""One Markdown table from the run folders under a results folder (results/README.md, "Zero signs").

    python results/decoders_table.py results/decoders/digits [results/decoders/digits-attacks]

Every row is one run folder ``compare-*/<lineup name>/`` with its ``summary.json`` (written by
``election train``/``compare --audit``) and ``config.json``: the setting, the decoder the master
used, the final test metric, its gap to the attack-free SignSGD-MV run (``no-attack``) of the same
dataset, n, seed and step count found under any of the given folders, and the audit counts of
``summary.json["audit"]`` (election/training/audit.py): coordinate-steps where the update differs
from mu = sign(sum_i u_i), split into mu != 0 (and of those the opposite sign), dead (every
u_i = 0) and tie (mu = 0, some u_i != 0), each as deviations / coordinate-steps of that kind.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HEADER = (
    "| n | b | scheme | r | decoder | attack | Byzantine | steps | final {metric} | gap | "
    "dev. mu != 0 (opposite) | dead moved / dead | tie moved / tie |"
)


def runs_under(folder: Path) -> list[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """(run folder, summary.json, config.json's config) for every finished run: the compare
    folders in time order, each in its line-up order (compare.json) once it has finished."""
    found = []
    for compare in sorted(folder.glob("compare-*")):
        listing = compare / "compare.json"
        names = (
            [r["name"] for r in json.loads(listing.read_text())["rows"]]
            if listing.is_file()
            else sorted(p.parent.name for p in compare.glob("*/summary.json"))
        )
        for name in names:
            run = compare / name
            summary = json.loads((run / "summary.json").read_text())
            config = json.loads((run / "config.json").read_text())["config"]
            found.append((run, summary, config))
    return found


def reference_key(summary: dict[str, Any], config: dict[str, Any]) -> tuple[Any, ...]:
    return (config["dataset"], summary["n"], summary["seed"], summary["steps"])


def kind_cell(audit: dict[str, Any], kind: str) -> str:
    k = audit.get(kind)
    return "-" if k is None else f"{k['deviations']:,} / {k['coords']:,}"


def row(run: Path, summary: dict[str, Any], config: dict[str, Any], clean: float | None) -> str:
    metric, value = next(iter(summary["final"].items()))
    audit = summary.get("audit") or {}
    nonzero = audit.get("nonzero")
    dev = "-" if nonzero is None else f"{nonzero['deviations']:,} ({nonzero['opposite']:,})"
    decoder = "plain" if summary.get("quorum") is None else f"quorum q={summary['quorum']}"
    gap = "-" if clean is None else f"{value - clean:+.4f}"
    attack = summary["attack"]
    select = "-" if attack == "none" else config["byzantine_select"]
    return (
        f"| {summary['n']} | {summary['b']} | {run.name} | {summary['redundancy']:.2f} | "
        f"{decoder} | {attack} | {select} | {summary['steps']} | {value:.4f} | {gap} | {dev} | "
        f"{kind_cell(audit, 'dead')} | {kind_cell(audit, 'tie')} |"
    )


def table(folders: list[Path]) -> str:
    runs = [r for folder in folders for r in runs_under(folder)]
    if not runs:
        raise SystemExit(f"no run folders under {', '.join(map(str, folders))}")
    clean = {
        reference_key(s, c): next(iter(s["final"].values()))
        for run, s, c in runs
        if run.name == "no-attack"
    }
    metric = next(iter(runs[0][1]["final"]))
    lines = [HEADER.format(metric=metric), "|" + "---|" * (HEADER.count("|") - 1)]
    first = folders[0].resolve()
    shown = [r for r in runs if r[0].parent.parent.resolve() == first]  # the first folder's runs
    for run, summary, config in shown:
        lines.append(row(run, summary, config, clean.get(reference_key(summary, config))))
    return "\n".join(lines)


if __name__ == "__main__":
    print(table([Path(arg) for arg in sys.argv[1:]]))
