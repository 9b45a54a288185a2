"""A whole grid, end to end: expand, check, resume, run, and write the grid folder.

The grid folder (docs/grid.md): ``spec.json`` (the parsed spec) and a copy of the spec file,
``cells/<key>/`` (each cell's run folder and record), ``grid.csv``, ``grid.json``,
``grid.md`` (rewritten after every finished cell) and the figures of
:mod:`election.grid.plots` (written at the end).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from election.errors import ConfigError
from election.grid.cells import cell_key
from election.grid.plots import write_plots
from election.grid.runner import GridProgress, GridRun, plan, run_grid
from election.grid.spec import Cell, GridSpec, check_cells, expand
from election.grid.table import build_rows, write_tables
from election.training.runs import write_json


@dataclass
class GridOutcome:
    grid_dir: Path
    rows: list[dict[str, Any]]
    run: GridRun
    skipped: list[Cell] = field(default_factory=list)  # invalid cells (skip_invalid)
    plots: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "failed"]


def default_jobs(spec: GridSpec, jobs: int | None) -> int:
    """--jobs, else the spec's ``jobs``, else os.cpu_count()."""
    chosen = jobs if jobs is not None else (spec.jobs or os.cpu_count() or 1)
    if chosen < 1:
        raise ConfigError(f"--jobs={chosen} must be at least 1")
    return chosen


def grid_folder(spec: GridSpec, *, out: str | None, runs_dir: str = "runs") -> Path:
    """``--out`` or ``runs/grid-<name>``: a fixed path, so the same command resumes."""
    return Path(out) if out else Path(runs_dir) / f"grid-{spec.name}"


def write_spec(grid_dir: Path, spec: GridSpec) -> None:
    grid_dir.mkdir(parents=True, exist_ok=True)
    write_json(grid_dir / "spec.json", spec.to_json_dict() | {"source": spec.source})
    if spec.source:
        source = Path(spec.source)
        target = grid_dir / f"spec-source{source.suffix}"
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)


def execute(
    spec: GridSpec,
    grid_dir: Path,
    *,
    jobs: int,
    retry_failed: bool = False,
    progress: bool = True,
    stream: TextIO | None = None,
) -> GridOutcome:
    """Run what is not finished and write every output; see the module docstring."""
    cells = expand(spec)
    valid = check_cells(cells, skip_invalid=spec.skip_invalid)
    skipped = [c for c in cells if c.config is None]
    out = stream or sys.stderr
    for cell in skipped:
        out.write(f"grid {spec.name}: skipping {cell.label}: {cell.error}\n")
    write_spec(grid_dir, spec)
    keys = {c.index: cell_key(c.config) for c in valid if c.config is not None}
    axes = list(spec.axes)
    todo, _ = plan(grid_dir, valid, retry_failed=retry_failed)
    bar = GridProgress(spec.name, len(set(keys.values())), stream=out)
    labels = {keys[c.index]: c.label for c in valid}
    if progress:
        bar.begin(len(set(keys.values())) - len(todo), len(todo), min(jobs, max(1, len(todo))))

    def on_record(record: dict[str, Any], run: GridRun) -> None:
        write_tables(grid_dir, build_rows(cells, keys, run.records, spec.base), axes)
        if progress:
            bar.update(record, run, labels[record["key"]])

    run = run_grid(grid_dir, valid, jobs=jobs, retry_failed=retry_failed, on_record=on_record)
    rows = build_rows(cells, keys, run.records, spec.base)
    write_tables(grid_dir, rows, axes)
    plots = write_plots(grid_dir, rows, axes)
    return GridOutcome(grid_dir, rows, run, skipped, plots)
