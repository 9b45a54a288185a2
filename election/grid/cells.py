"""Cell identity and the cell store: what makes a grid resumable.

A cell's key is ``sha256("grid-cell-v1\\n" + canonical JSON of its resolved config)`` without
the fields that only say where the run is written (``runs_dir``, ``run_name``), cut to
KEY_HEX_CHARS hex digits. The same resolved config gives the same key in any grid, any order,
any process; a spec edit that does not change a cell's resolved config keeps its key.

Each cell runs in ``<grid>/cells/<key>/`` (the ordinary run folder) and writes ``cell.json``
there, atomically, as its last act: a cell is finished if and only if that file exists, so a
killed grid loses only the cells that were running.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from election.config import TrainConfig
from election.training.runs import write_json

KEY_VERSION = "grid-cell-v1"  # bump when the key's definition changes (old cells then rerun)
KEY_HEX_CHARS = 16  # 64 bits of sha256: collisions are negligible for any practical grid
LOCATION_FIELDS = ("runs_dir", "run_name")  # where a run is written, not what it computes
CELLS_DIR = "cells"
RECORD_FILE = "cell.json"  # written last: its presence marks the cell finished
FINISHED = ("completed", "failed")  # statuses a record can have


def identity(cfg: TrainConfig) -> dict[str, Any]:
    """The resolved config without the location fields: what the key hashes."""
    data = cfg.to_json_dict()
    for name in LOCATION_FIELDS:
        data.pop(name, None)
    return data


def cell_key(cfg: TrainConfig) -> str:
    """The stable hash of a cell's resolved config (module docstring)."""
    canonical = json.dumps(identity(cfg), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{KEY_VERSION}\n{canonical}".encode()).hexdigest()
    return digest[:KEY_HEX_CHARS]


def cell_dir(grid_dir: Path, key: str) -> Path:
    return grid_dir / CELLS_DIR / key


def read_record(grid_dir: Path, key: str) -> dict[str, Any] | None:
    """The finished cell's record, or None if the cell has not finished (or it is unreadable)."""
    path = cell_dir(grid_dir, key) / RECORD_FILE
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("status") not in FINISHED:
        return None
    return record


def write_record(grid_dir: Path, key: str, record: Mapping[str, Any]) -> None:
    """Mark the cell finished (atomic rename: a reader sees the whole record or none)."""
    folder = cell_dir(grid_dir, key)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / RECORD_FILE, record)


def clear_partial(grid_dir: Path, key: str) -> Path:
    """Remove what an unfinished earlier attempt left; return the (absent) cell folder."""
    path = cell_dir(grid_dir, key)
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
