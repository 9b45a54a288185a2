"""Run folders: config.json, metrics.csv (flushed per row), summary.json and a PNG curve.

Nothing is lost on failure: metrics are appended and flushed as they are measured, and the
summary records ``"status": "failed"`` with the error if the run dies.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from election.errors import ConfigError

METRIC_COLUMNS = ("step", "epoch", "wall_s", "train_loss", "metric", "value", "test_loss")


MAX_RUN_SUFFIX = 100_000  # name-2 .. name-100000: past that, something else is wrong


def new_run_dir(runs_dir: str, name: str) -> Path:
    """runs_dir/name, or name-2, name-3 ... if it exists (runs are never overwritten).

    The folder is claimed by ``mkdir`` itself, so two runs that start at once (same name, same
    second) get two folders instead of one of them failing or both sharing one.
    """
    base = Path(runs_dir) / name
    base.parent.mkdir(parents=True, exist_ok=True)
    for k in range(1, MAX_RUN_SUFFIX + 1):
        path = base if k == 1 else base.with_name(f"{base.name}-{k}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise ConfigError(f"{base}-2 .. -{MAX_RUN_SUFFIX} all exist; give another --run-name")


class MetricsWriter:
    """Appends one CSV row per evaluation and flushes it."""

    def __init__(self, path: Path, extra_columns: Sequence[str] = ()) -> None:
        self.path = path
        self.columns = (*METRIC_COLUMNS, *extra_columns)
        self._file: TextIO = path.open("w", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(self.columns)
        self._file.flush()

    def write(self, row: Mapping[str, Any]) -> None:
        self._writer.writerow([row.get(c, "") for c in self.columns])
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def read_metrics(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def plot_curves(
    curves: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    path: Path,
    *,
    ylabel: str,
    title: str,
) -> None:
    """One line per (label, steps, values); saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for label, xs, ys in curves:
        ax.plot(xs, ys, marker="o", markersize=2.5, linewidth=1.4, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


class Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(
        self, total: int, label: str, *, stream: TextIO | None = None, enabled: bool = True
    ):
        self.total = max(1, total)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self.start = time.perf_counter()
        self._last_plain = -1.0

    def update(self, done: int, info: str = "") -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        frac = min(1.0, done / self.total)
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        bar = "#" * int(24 * frac) + "-" * (24 - int(24 * frac))
        line = f"{self.label} [{bar}] {done}/{self.total} {elapsed:5.1f}s eta {eta:5.1f}s {info}"
        if self.tty:
            self.stream.write("\r" + line[:160].ljust(100))
            self.stream.flush()
        elif done == self.total or elapsed - self._last_plain >= 5.0:
            self._last_plain = elapsed
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
