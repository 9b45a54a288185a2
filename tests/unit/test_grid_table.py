"""Grid results: resume planning, gaps, the worst case over attacks, the frontier, outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from election.grid.cells import cell_dir, cell_key, read_record, write_record
from election.grid.plots import frontier_points, pareto, write_plots
from election.grid.runner import eta_s, plan
from election.grid.spec import expand, parse_spec
from election.grid.table import (
    add_gaps,
    build_rows,
    format_markdown,
    worst_case,
    write_tables,
)

SPEC = parse_spec(
    {
        "base": {"n": 5, "steps": 5},
        "axes": {"b": [1, 2], "code": ["uncoded", "deterministic"], "attack": ["none", "reverse"]},
    }
)


def _record(key: str, index: int, status: str = "completed", final: float = 0.5) -> dict:
    return {"key": key, "index": index, "status": status, "metric": "accuracy", "final": final,
            "wall_s": 1.0, "r_eff": 1.0, "steps": 5, "error": None if status == "completed"
            else "boom"}  # fmt: skip


def test_plan_skips_finished_cells_and_reruns_partial_ones(tmp_path: Path) -> None:
    cells = expand(SPEC)
    keys = [cell_key(c.config) for c in cells if c.config]
    write_record(tmp_path, keys[0], _record(keys[0], 0))
    write_record(tmp_path, keys[1], _record(keys[1], 1, status="failed"))
    (cell_dir(tmp_path, keys[2])).mkdir(parents=True)  # killed: a folder without a record
    (cell_dir(tmp_path, keys[2]) / "metrics.csv").write_text("step\n")
    todo, done = plan(tmp_path, cells, retry_failed=False)
    assert set(done) == {keys[0], keys[1]}
    assert list(todo) == keys[2:]
    todo, done = plan(tmp_path, cells, retry_failed=True)
    assert set(done) == {keys[0]} and keys[1] in todo


def test_duplicate_cells_run_once(tmp_path: Path) -> None:
    spec = parse_spec({"axes": {"seed": [0, 0, 1]}})
    todo, _ = plan(tmp_path, expand(spec), retry_failed=False)
    assert len(todo) == 2


def test_an_unreadable_or_unfinished_record_does_not_count(tmp_path: Path) -> None:
    key = "k" * 16
    cell_dir(tmp_path, key).mkdir(parents=True)
    (cell_dir(tmp_path, key) / "cell.json").write_text("{trunc")
    assert read_record(tmp_path, key) is None
    (cell_dir(tmp_path, key) / "cell.json").write_text(json.dumps({"status": "running"}))
    assert read_record(tmp_path, key) is None


def _rows(finals: dict[tuple[int, str, str], float]) -> list[dict[str, Any]]:
    cells = expand(SPEC)
    keys = {c.index: cell_key(c.config) for c in cells if c.config}
    records = {}
    for c in cells:
        value = finals.get((c.values["b"], c.values["code"], c.values["attack"]))
        if value is not None:
            records[keys[c.index]] = _record(keys[c.index], c.index, final=value)
    return build_rows(cells, keys, records, SPEC.base)


def test_gap_is_to_the_attack_free_twin() -> None:
    rows = _rows(
        {
            (1, "uncoded", "none"): 0.9,
            (1, "uncoded", "reverse"): 0.7,
            (2, "uncoded", "none"): 0.8,
            (2, "uncoded", "reverse"): 0.5,
            (1, "deterministic", "reverse"): 0.85,
        }  # fmt: skip
    )
    gaps = {(r["b"], r["code"], r["attack"]): r["gap"] for r in rows}
    assert gaps[(1, "uncoded", "reverse")] == pytest.approx(-0.2)
    assert gaps[(2, "uncoded", "reverse")] == pytest.approx(-0.3)  # its own b's clean run
    assert gaps[(1, "uncoded", "none")] == 0.0
    assert gaps[(1, "deterministic", "reverse")] is None  # no clean deterministic cell
    assert gaps[(2, "deterministic", "none")] is None  # pending
    assert {r["status"] for r in rows} == {"completed", "pending"}


def test_gap_ignores_the_byzantine_selection() -> None:
    rows = [
        {"status": "completed", "attack": "none", "final": 0.9,
         "config": {"attack": "none", "byzantine_select": "random", "seed": 0}},
        {"status": "completed", "attack": "reverse", "final": 0.6,
         "config": {"attack": "reverse", "byzantine_select": "heaviest", "seed": 0}},
        {"status": "completed", "attack": "reverse", "final": 0.6,
         "config": {"attack": "reverse", "byzantine_select": "heaviest", "seed": 1}},
    ]  # fmt: skip
    add_gaps(rows)
    assert rows[1]["gap"] == pytest.approx(-0.3) and rows[2]["gap"] is None


def _row(code: str, b: int, attack: str, seed: int, final: float) -> dict[str, Any]:
    return {"status": "completed", "code": code, "b": b, "attack": attack, "seed": seed,
            "final": final, "r_eff": 2.0 if code == "x" else 1.0, "wall_s": seed + 1.0}  # fmt: skip


def test_worst_case_means_over_seeds_then_takes_the_minimum_attack() -> None:
    rows = [
        _row("x", 1, "none", 0, 0.10),  # attack-free: never the worst case here
        _row("x", 1, "reverse", 0, 0.60), _row("x", 1, "reverse", 1, 0.80),  # mean 0.70
        _row("x", 1, "random", 0, 0.50), _row("x", 1, "random", 1, 0.95),  # mean 0.725
        _row("x", 2, "random", 0, 0.40),
        _row("y", 1, "none", 0, 0.90),  # only attack-free: the worst is the clean value
    ]  # fmt: skip
    rows.append(dict(_row("x", 1, "reverse", 2, 0.0), status="failed"))  # not counted
    worst = worst_case(rows, ("code", "b"))
    assert worst[("x", 1)].attack == "reverse"
    assert worst[("x", 1)].value == pytest.approx(0.70) and worst[("x", 1)].seeds == 2
    assert worst[("x", 2)].value == pytest.approx(0.40)
    assert worst[("y", 1)].attack == "none" and worst[("y", 1)].value == pytest.approx(0.90)


def test_pareto_keeps_only_undominated_points() -> None:
    points = [(1.0, 0.5), (2.0, 0.7), (2.0, 0.6), (3.0, 0.7), (4.0, 0.9), (0.5, 0.4)]
    assert pareto(points) == [(0.5, 0.4), (1.0, 0.5), (2.0, 0.7), (4.0, 0.9)]


def test_frontier_points_are_worst_cases_with_mean_costs() -> None:
    rows = [_row("x", 1, "reverse", 0, 0.6), _row("x", 1, "random", 1, 0.5)]
    rows = [r | {"decoder": "plain", "r": 2.0} for r in rows]
    (point,) = frontier_points(rows, ["attack", "seed"])
    assert point["worst"] == pytest.approx(0.5) and point["attack"] == "random"
    assert point["r_eff"] == 2.0 and point["wall_s"] == pytest.approx(1.5)


def test_eta_extrapolates_this_runs_cells() -> None:
    assert eta_s(30.0, 3, 6) == pytest.approx(60.0)
    assert eta_s(30.0, 0, 6) is None
    assert eta_s(30.0, 3, 0) == 0.0


def test_tables_and_plots_are_written(tmp_path: Path) -> None:
    rows = _rows({(b, c, a): 0.5 + 0.1 * b - (a != "none") * 0.2 for b in (1, 2)
                  for c in ("uncoded", "deterministic") for a in ("none", "reverse")})  # fmt: skip
    rows[3] = rows[3] | {"status": "failed", "error": "attack 'x' needs | the round"}
    for row in rows:
        folder = cell_dir(tmp_path, row["key"])
        folder.mkdir(parents=True)
        (folder / "metrics.csv").write_text("step,value\n1,0.2\n5,0.5\n")
    write_tables(tmp_path, rows, SPEC.axes)
    with (tmp_path / "grid.csv").open() as f:
        table = list(csv.DictReader(f))
    assert [r["status"] for r in table] == [r["status"] for r in rows]
    assert table[1]["gap"] and float(table[1]["gap"]) == pytest.approx(-0.2)
    assert json.loads((tmp_path / "grid.json").read_text())["rows"][0]["key"] == rows[0]["key"]
    markdown = format_markdown(rows, SPEC.axes)
    assert "failed: attack 'x' needs / the round" in markdown
    assert markdown.count("\n") == len(rows) + 1
    names = {p.name for p in write_plots(tmp_path, rows, list(SPEC.axes))}
    assert names == {
        "curves-uncoded.png", "curves-deterministic.png", "heatmap-attack-b-uncoded.png",
        "heatmap-attack-b-deterministic.png", "heatmap-worst.png", "frontier.png",
    }  # fmt: skip
    assert all((tmp_path / n).stat().st_size > 1000 for n in names)


def test_progress_lines_count_the_whole_grid() -> None:
    import io

    from election.grid.runner import GridProgress, GridRun

    stream = io.StringIO()
    bar = GridProgress("g", 10, stream=stream)
    bar.begin(resumed=4, to_run=6, jobs=2)
    run = GridRun(resumed=4, ran=1, failed=1)
    bar.update({"status": "failed", "error": "attack 'm' needs the round"}, run, "cell 5 (b=1)")
    run.ran = 2
    ok = _record("k" * 16, 6, final=0.875) | {"warnings": ["election: warning: code ..."]}
    bar.update(ok, run, "cell 6 (b=2)")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "grid g: 10 cells: 4 finished earlier, 6 to run on 2 processes"
    assert lines[1].startswith("grid g: 5/10 cells (1 failed) ")
    assert lines[1].endswith("| cell 5 (b=1): FAILED: attack 'm' needs the round")
    assert lines[2].startswith("grid g: 6/10 cells (1 failed) ") and " eta " in lines[2]
    assert lines[2].endswith(
        f"| cell 6 (b=2): accuracy 0.8750 in 1.0s (1 warning: cells/{'k' * 16}/stderr.txt)"
    )
