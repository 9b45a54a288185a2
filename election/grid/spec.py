"""Grid specs: a JSON or TOML file naming fixed ``base`` fields and ``axes`` of values.

A spec (docs/grid.md)::

    {"name": "digits-small",
     "base": {"dataset": "digits", "n": 5},
     "axes": {"b": [1, 2], "code": ["uncoded", "deterministic"], "attack": ["reverse"]},
     "skip_invalid": false}

expands to the cartesian product of the axes, in the order the axes are listed (the last axis
varies fastest). Each cell's config is ``build_config(base | cell values)``: the project's one
config builder, so presets, coercion and validation are the same as ``election train``'s.
"""

from __future__ import annotations

import itertools
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from election.config import FIELD_TYPES, TrainConfig, build_config
from election.errors import ConfigError

SPEC_KEYS = ("name", "base", "axes", "skip_invalid", "jobs")  # top-level keys a spec may have
# Set by the grid itself: every cell's run folder lives in the grid folder under its key.
GRID_OWNED_FIELDS = ("runs_dir", "run_name")
GRID_THREADS = 1  # torch intra-op threads per cell: the grid parallelises over processes
GRID_TRANSPORT = "inprocess"  # cells run the single-machine loop in a worker process


@dataclass(frozen=True)
class GridSpec:
    """A parsed spec. ``axes`` keeps the file's order; values are lists as written."""

    name: str
    base: Mapping[str, Any]
    axes: Mapping[str, tuple[Any, ...]]
    skip_invalid: bool = False
    jobs: int = 0  # 0 = the --jobs flag or os.cpu_count()
    source: str = ""  # the file it was read from ("" for a mapping)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base": dict(self.base),
            "axes": {k: list(v) for k, v in self.axes.items()},
            "skip_invalid": self.skip_invalid,
            "jobs": self.jobs,
        }


@dataclass(frozen=True)
class Cell:
    """One point of the grid: its axis values and either a config or the reason it has none."""

    index: int  # 0-based position in the expansion order
    values: Mapping[str, Any]  # axis name -> this cell's value
    config: TrainConfig | None
    error: str | None = None  # the ConfigError line when config is None
    labels: tuple[str, ...] = field(default=())  # "b=2", "code=deterministic", ...

    @property
    def label(self) -> str:
        inside = ", ".join(self.labels) if self.labels else "no axes"
        return f"cell {self.index} ({inside})"


def load_spec(path: str | Path) -> GridSpec:
    """Read a spec from ``path`` (``.toml`` via tomllib, anything else as JSON)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read grid spec {str(p)!r}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"grid spec {str(p)!r} is not valid {_kind(p)}: {exc}") from None
    return parse_spec(data, default_name=p.stem, source=str(p))


def _kind(p: Path) -> str:
    return "TOML" if p.suffix == ".toml" else "JSON"


def parse_spec(data: Any, *, default_name: str = "grid", source: str = "") -> GridSpec:
    """Check a spec's shape and field names; one ConfigError line names the first problem."""
    where = f"grid spec {source!r}" if source else "grid spec"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be an object with base and axes")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; known: {', '.join(SPEC_KEYS)}")
    base = data.get("base", {})
    axes = data.get("axes", {})
    if not isinstance(base, Mapping) or not isinstance(axes, Mapping):
        raise ConfigError(f"{where}: base and axes must be objects (field -> value(s))")
    for name in list(base) + list(axes):
        _check_field(where, name)
    both = sorted(set(base) & set(axes))
    if both:
        raise ConfigError(f"{where}: {both} given in both base and axes; keep one")
    parsed_axes: dict[str, tuple[Any, ...]] = {}
    for name, values in axes.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: axis {name!r} must be a non-empty list of values")
        parsed_axes[name] = tuple(values)
    skip = data.get("skip_invalid", False)
    jobs = data.get("jobs", 0)
    if not isinstance(skip, bool):
        raise ConfigError(f"{where}: skip_invalid={skip!r} must be true or false")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 0:
        raise ConfigError(f"{where}: jobs={jobs!r} must be an integer >= 0")
    name = str(data.get("name") or default_name)
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"{where}: name={name!r} must be a plain folder name")
    return GridSpec(name, dict(base), parsed_axes, skip, jobs, source)


def _check_field(where: str, name: str) -> None:
    if name not in FIELD_TYPES or name == "extra":
        known = ", ".join(sorted(k for k in FIELD_TYPES if k != "extra"))
        raise ConfigError(f"{where}: unknown config field {name!r}; known: {known}")
    if name in GRID_OWNED_FIELDS:
        raise ConfigError(f"{where}: {name} is set by the grid (each cell runs in the grid folder)")


def expand(spec: GridSpec) -> list[Cell]:
    """The cartesian product of the axes; each cell's config built and validated.

    A cell whose values break a config rule gets ``config=None`` and the rule's one line.
    Threads default to GRID_THREADS and the transport must be in-process.
    """
    names = list(spec.axes)
    cells = []
    for index, combo in enumerate(itertools.product(*(spec.axes[k] for k in names))):
        values = dict(zip(names, combo, strict=True))
        labels = tuple(f"{k}={_show(v)}" for k, v in values.items())
        try:
            cfg = cell_config(spec.base, values)
        except ConfigError as exc:
            cells.append(Cell(index, values, None, str(exc), labels))
        else:
            cells.append(Cell(index, values, cfg, None, labels))
    return cells


def cell_config(base: Mapping[str, Any], values: Mapping[str, Any]) -> TrainConfig:
    """``build_config(base | values)`` with the grid's thread default and transport check."""
    from election.attacks import ATTACKS

    merged = {"threads": GRID_THREADS} | dict(base) | dict(values)
    cfg = build_config(merged)
    if cfg.transport != GRID_TRANSPORT:
        raise ConfigError(
            f"transport={cfg.transport!r}: grid cells run in-process (transport=inprocess)"
        )
    if cfg.attack not in ATTACKS:  # the loop would fail at setup; say it before running
        raise ConfigError(f"unknown attack {cfg.attack!r}; known: {', '.join(ATTACKS)}")
    return cfg


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def check_cells(cells: list[Cell], *, skip_invalid: bool) -> list[Cell]:
    """The valid cells; without ``skip_invalid`` the first invalid cell is one ConfigError."""
    bad = [c for c in cells if c.config is None]
    if bad and not skip_invalid:
        first = bad[0]
        more = f" (and {len(bad) - 1} more invalid cells)" if len(bad) > 1 else ""
        raise ConfigError(
            f'grid {first.label}: {first.error}{more}; fix the spec or set "skip_invalid": true'
        )
    return [c for c in cells if c.config is not None]
