"""Running a grid: finished cells skipped, the rest in parallel worker processes.

Each cell runs the single-machine loop (:func:`election.training.loop.train_inprocess`) in a
separate process with one torch thread, so ``jobs`` cells use ``jobs`` cores. The worker
process writes the cell's record itself (:mod:`election.grid.cells`): a finished cell survives
even if the grid's own process is killed. A cell that fails with a configuration error (a
code that does not exist for its (n, b), an attack the loop cannot feed) is recorded as
``failed`` with that one line; the other cells go on.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from election.config import build_config
from election.errors import ElectionError
from election.grid.cells import CELLS_DIR, cell_key, clear_partial, identity, read_record
from election.grid.cells import write_record as store_record
from election.grid.spec import Cell

START_METHOD = "spawn"  # fresh interpreters: no forked torch/OpenMP state in the workers
STDERR_FILE = "stderr.txt"  # what the cell printed on stderr (warnings), in its folder


@dataclass
class GridRun:
    """The outcome of :func:`run_grid`: one record per valid cell key, in cell order."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    resumed: int = 0  # cells whose record existed before this run
    ran: int = 0  # cells run now
    failed: int = 0  # cells whose record (old or new) says failed


def _init_worker() -> None:
    """One torch thread per worker process (set before any torch work in it)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError):  # only settable before interop work starts
        torch.set_num_interop_threads(1)


def run_cell(grid_dir: str, key: str, index: int, config: dict[str, Any]) -> dict[str, Any]:
    """Train one cell in this process and write its record; return the record.

    Expected failures (ElectionError, e.g. a ConfigError at the first round) give
    ``status="failed"`` and ``error`` = their one line; anything else also fails the cell,
    with ``error`` = ``Type: message`` and the traceback in ``traceback.txt``.
    """
    from election import notices
    from election.training.loop import train_inprocess
    from election.training.setup import prepare

    root = Path(grid_dir)
    folder = clear_partial(root, key)
    cfg = build_config(config | {"runs_dir": str(root / CELLS_DIR), "run_name": key})
    record: dict[str, Any] = {"key": key, "index": index, "config": identity(cfg)}
    captured = io.StringIO()
    notices.reset()  # a warning seen by an earlier cell in this process is printed again
    start = time.perf_counter()
    try:
        with contextlib.redirect_stderr(captured):
            summary = train_inprocess(prepare(cfg), progress=False)
    except ElectionError as exc:
        record |= {"status": "failed", "error": str(exc)}
    except Exception as exc:  # a bug in one cell must not take the grid down
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "traceback.txt").write_text(traceback.format_exc())
        record |= {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    else:
        metric, final = next(iter(summary["final"].items()))
        record |= {
            "status": "completed",
            "metric": metric,
            "final": final,
            "wall_s": summary["wall_s"],
            "r_eff": summary["redundancy"],
            "steps": summary["steps"],
            "model_sha256": summary["model_sha256"],
            "byzantine": summary["byzantine"],
        }
    record["cell_s"] = round(time.perf_counter() - start, 3)  # data, setup and training
    folder.mkdir(parents=True, exist_ok=True)
    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    (folder / STDERR_FILE).write_text("".join(f"{line}\n" for line in lines))
    record["warnings"] = lines
    store_record(root, key, record)
    return record


def plan(
    grid_dir: Path, cells: list[Cell], *, retry_failed: bool
) -> tuple[dict[str, Cell], dict[str, dict[str, Any]]]:
    """(cells to run by key, finished records by key); duplicate configs run once."""
    todo: dict[str, Cell] = {}
    done: dict[str, dict[str, Any]] = {}
    for cell in cells:
        assert cell.config is not None, "plan() takes the valid cells"
        key = cell_key(cell.config)
        if key in todo or key in done:
            continue
        record = read_record(grid_dir, key)
        if record is not None and not (retry_failed and record["status"] == "failed"):
            done[key] = record
        else:
            todo[key] = cell
    return todo, done


def run_grid(
    grid_dir: Path,
    cells: list[Cell],
    *,
    jobs: int,
    retry_failed: bool = False,
    on_record: Callable[[dict[str, Any], GridRun], None] | None = None,
) -> GridRun:
    """Run the valid ``cells`` not finished in ``grid_dir``, ``jobs`` at a time.

    ``on_record(record, run)`` is called in this process after every cell that finishes.
    """
    todo, done = plan(grid_dir, cells, retry_failed=retry_failed)
    result = GridRun(records=dict(done), resumed=len(done))
    result.failed = sum(r["status"] == "failed" for r in done.values())
    if not todo:
        return result
    context = multiprocessing.get_context(START_METHOD)
    workers = max(1, min(jobs, len(todo)))
    queue = list(todo.items())
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker) as pool:
        pending: dict[Future[dict[str, Any]], str] = {}

        def submit_next() -> None:
            # at most `workers` cells are handed out: an interrupt leaves none queued behind
            # the running ones (they are cancelled by not being submitted)
            key, cell = queue.pop(0)
            assert cell.config is not None
            payload = cell.config.to_json_dict()
            pending[pool.submit(run_cell, str(grid_dir), key, cell.index, payload)] = key

        while queue and len(pending) < workers:
            submit_next()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                key = pending.pop(future)
                record = _outcome(future, key, todo[key])
                result.records[key] = record
                result.ran += 1
                result.failed += record["status"] == "failed"
                if on_record is not None:
                    on_record(record, result)
                if queue:
                    submit_next()
    return result


def _outcome(future: Future[dict[str, Any]], key: str, cell: Cell) -> dict[str, Any]:
    """The record a worker wrote, or (worker died) a failed record kept only in memory, so a
    later run retries the cell."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        error = f"worker process died ({exc})"
    except Exception as exc:  # noqa: BLE001 - reported per cell
        error = f"{type(exc).__name__}: {exc}"
    assert cell.config is not None
    return {"key": key, "index": cell.index, "status": "failed", "error": error,
            "config": identity(cell.config), "warnings": []}  # fmt: skip


class GridProgress:
    """Whole-grid progress on stderr: cells done / total, failures, elapsed and ETA."""

    def __init__(self, name: str, total: int, *, stream: TextIO | None = None) -> None:
        self.name = name
        self.total = total
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()

    def begin(self, resumed: int, to_run: int, jobs: int) -> None:
        where = f" on {jobs} process{'es' if jobs != 1 else ''}" if to_run else ""
        self._line(f"{self.total} cells: {resumed} finished earlier, {to_run} to run{where}")

    def update(self, record: dict[str, Any], run: GridRun, label: str) -> None:
        elapsed = time.perf_counter() - self.start
        done = run.resumed + run.ran
        eta = eta_s(elapsed, run.ran, self.total - done)
        if record["status"] != "completed":
            what = f"FAILED: {record['error']}"
        else:
            final = record["final"]
            value = "-" if final is None else f"{final:.4f}"
            what = f"{record['metric']} {value} in {record['wall_s']:.1f}s"
        if record.get("warnings"):
            count = len(record["warnings"])
            what += f" ({count} warning{'s' if count > 1 else ''}: {CELLS_DIR}/{record['key']}/"
            what += f"{STDERR_FILE})"
        self._line(
            f"{done}/{self.total} cells ({run.failed} failed) {elapsed:.0f}s elapsed, "
            f"eta {_clock(eta)} | {label}: {what}"
        )

    def _line(self, text: str) -> None:
        self.stream.write(f"grid {self.name}: {text}\n")
        self.stream.flush()


def eta_s(elapsed: float, ran: int, remaining: int) -> float | None:
    """Seconds left if the remaining cells take what this run's cells took on average:
    ``elapsed / ran * remaining`` (None before the first cell of this run finishes)."""
    if remaining <= 0:
        return 0.0
    if ran <= 0:
        return None
    return elapsed / ran * remaining


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
