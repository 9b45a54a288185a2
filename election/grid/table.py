"""The grid's result table: one row per cell, gaps to attack-free cells, worst-case reductions.

- ``gap`` of a completed cell = its final metric minus that of the attack-free cell with the
  same resolved config except ``attack`` (= "none") and ``byzantine_select`` (which selects
  nobody without an attack); empty when the grid has no such cell.
- The worst case over attacks of a group of cells (ByzFL's benchmark reduction): the final
  metric is first averaged over seeds per attack, then the minimum over attacks is taken
  (attack "none" is left out when the group has any other attack). Both datasets' metrics,
  accuracy and ROC AUC, are higher-is-better.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from election.grid.spec import Cell
from election.training.runs import write_json

# Config fields every row shows, in this order; other axes follow them.
STANDARD_FIELDS = (
    "dataset", "model", "n", "b", "code", "r", "decoder", "attack", "byzantine_select", "seed",
)  # fmt: skip
RESULT_FIELDS = ("metric", "final", "gap", "wall_s", "r_eff", "steps", "model_sha256", "error")
NO_ATTACK = "none"
# Fields that do not change an attack-free run's result (the reference of the gap).
ATTACK_FIELDS = ("attack", "byzantine_select")
# Fields folded into a heatmap's "code" axis label when the grid varies them.
CODE_FIELDS = ("code", "r", "decoder", "quorum")
# Fields a heatmap/plot panel does not split on: its own axes and what it reduces over.
PANEL_FIELDS = (*CODE_FIELDS, "b", "attack", "seed")


def columns(axes: Iterable[str]) -> list[str]:
    """The CSV header: cell id, status, config fields, then results."""
    extra = [a for a in axes if a not in STANDARD_FIELDS]
    return ["index", "key", "status", *STANDARD_FIELDS, *extra, *RESULT_FIELDS]


def build_rows(
    cells: Sequence[Cell],
    keys: Mapping[int, str],
    records: Mapping[str, Mapping[str, Any]],
    base: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """One row per cell in expansion order. Invalid cells are ``skipped`` with their reason;
    valid cells without a record (interrupted grid) are ``pending``."""
    rows = []
    for cell in cells:
        if cell.config is None:
            fields = dict(base) | dict(cell.values)
            row = {"index": cell.index, "key": "", "status": "skipped", "error": cell.error}
            row |= {k: fields.get(k, "") for k in (*STANDARD_FIELDS, *cell.values)}
            rows.append(row)
            continue
        key = keys[cell.index]
        config = cell.config.to_json_dict()
        row = {"index": cell.index, "key": key, "config": config}
        row |= {k: config[k] for k in (*STANDARD_FIELDS, *cell.values)}
        record = records.get(key)
        if record is None:
            row["status"] = "pending"
        else:
            row["status"] = record["status"]
            row |= {k: record.get(k) for k in RESULT_FIELDS if k in record}
        rows.append(row)
    add_gaps(rows)
    return rows


def _reference(config: Mapping[str, Any]) -> str:
    same = {k: v for k, v in config.items() if k not in ATTACK_FIELDS}
    return json.dumps(same, sort_keys=True)


def add_gaps(rows: list[dict[str, Any]]) -> None:
    """Set ``gap`` (module docstring) on every completed row with an attack-free twin."""
    clean = {
        _reference(r["config"]): r["final"]
        for r in rows
        if r["status"] == "completed" and r["attack"] == NO_ATTACK and r.get("final") is not None
    }
    for row in rows:
        row["gap"] = None
        if row["status"] != "completed" or row.get("final") is None:
            continue
        ref = clean.get(_reference(row["config"]))
        if ref is not None:
            row["gap"] = row["final"] - ref


def varying(rows: Sequence[Mapping[str, Any]], fields: Iterable[str]) -> list[str]:
    """The fields among ``fields`` that take more than one value over ``rows``."""
    return [f for f in fields if len({_hashable(r.get(f)) for r in rows}) > 1]


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def code_label(row: Mapping[str, Any], varied: Sequence[str]) -> str:
    """The code as a heatmap shows it: kind, plus r (Bernoulli), decoder, quorum if varied."""
    parts = [str(row["code"])]
    if "r" in varied and row["code"] == "bernoulli":
        parts.append(f"r={row['r']:g}")
    if "decoder" in varied:
        parts.append(str(row["decoder"]))
    if "quorum" in varied:
        parts.append(f"q={row['quorum']}")
    return " ".join(parts)


def facet_of(row: Mapping[str, Any], varied: Sequence[str]) -> tuple[tuple[str, Any], ...]:
    """The values of the varied fields a panel does not show (one set of plots per facet)."""
    return tuple((f, _hashable(row.get(f))) for f in varied if f not in PANEL_FIELDS)


@dataclass(frozen=True)
class Worst:
    value: float  # min over attacks of the seed-mean final metric
    attack: str  # the attack that reaches it
    seeds: int  # cells averaged for that attack


def seed_means(rows: Iterable[Mapping[str, Any]], by: Sequence[str]) -> dict[tuple, list[float]]:
    """Completed rows' final metrics grouped by the ``by`` fields."""
    groups: dict[tuple, list[float]] = {}
    for row in rows:
        if row.get("status") == "completed" and row.get("final") is not None:
            key = tuple(_hashable(row[f]) for f in by)
            groups.setdefault(key, []).append(float(row["final"]))
    return groups


def worst_case(rows: Iterable[Mapping[str, Any]], by: Sequence[str]) -> dict[tuple, Worst]:
    """Per group of the ``by`` fields: the worst attack's seed-mean (module docstring)."""
    per_attack = seed_means(rows, (*by, "attack"))
    grouped: dict[tuple, dict[str, list[float]]] = {}
    for key, values in per_attack.items():
        grouped.setdefault(key[:-1], {})[str(key[-1])] = values
    out = {}
    for key, attacks in grouped.items():
        attacked = {a: v for a, v in attacks.items() if a != NO_ATTACK} or attacks
        means = {a: statistics.fmean(v) for a, v in attacked.items()}
        attack = min(sorted(means), key=lambda a: means[a])
        out[key] = Worst(means[attack], attack, len(attacked[attack]))
    return out


def write_tables(grid_dir: Path, rows: Sequence[Mapping[str, Any]], axes: Iterable[str]) -> None:
    """grid.csv, grid.json and grid.md in ``grid_dir`` (rewritten whole each time)."""
    header = columns(axes)
    tmp = grid_dir / "grid.csv.tmp"
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv(row.get(c)) for c in header])
    tmp.replace(grid_dir / "grid.csv")
    write_json(grid_dir / "grid.json", {"columns": header, "rows": list(rows)})
    (grid_dir / "grid.md").write_text(format_markdown(rows, axes) + "\n")


def _csv(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def format_markdown(rows: Sequence[Mapping[str, Any]], axes: Iterable[str]) -> str:
    """A Markdown table: the varied axes, final metric, gap, r_eff, wall s, status."""
    shown = varying(rows, axes) or list(axes)
    metric = next((r["metric"] for r in rows if r.get("metric")), "metric")
    head = [*shown, f"final {metric}", "gap", "r_eff", "wall s", "status"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        status = row["status"]
        if status in ("failed", "skipped"):
            status = f"{status}: {str(row.get('error', '')).replace('|', '/')}"
        cells = [str(row.get(a, "")) for a in shown] + [
            _fmt(row.get("final"), ".4f"),
            _fmt(row.get("gap"), "+.4f"),
            _fmt(row.get("r_eff"), ".2f"),
            _fmt(row.get("wall_s"), ".1f"),
            status,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)
