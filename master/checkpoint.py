"""Master checkpoints: everything needed to resume a run after a restart, written atomically.

One file ``<dir>/master.ckpt`` (torch.save of a dict of a JSON string and uint8 tensors, so it
loads with ``weights_only=True``): run id, token secret, config, the next round, the replica
state (parameters + optimizer), the last published update (so workers waiting for it are
served after the restart), the evaluation history, the run folder and the accusation's state
(quarantine, first proofs, scores). Written to a temporary
file, fsynced, then ``os.replace``d: a crash never leaves a torn checkpoint.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

FILE_NAME = "master.ckpt"


@dataclass(frozen=True)
class MasterCheckpoint:
    run_id: str
    secret: bytes
    config_json: str
    next_round: int  # rounds completed = the round to open on resume
    replica_state: bytes  # Replica.state_bytes()
    run_dir: str
    last_update: tuple[int, str, bytes, int, int] | None = (
        None  # round, digest, core bytes, votes, abst.
    )
    evals: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    counters: dict[str, float] = field(default_factory=dict)
    accusation: dict[str, Any] = field(default_factory=dict)  # AccusationWatch.state()


def _tensor(data: bytes) -> torch.Tensor:
    return (
        torch.frombuffer(bytearray(data), dtype=torch.uint8)
        if data
        else torch.zeros(0, dtype=torch.uint8)
    )


def save(directory: str | Path, ckpt: MasterCheckpoint) -> Path:
    path = Path(directory) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    last = ckpt.last_update
    meta: dict[str, Any] = {
        "run_id": ckpt.run_id,
        "config_json": ckpt.config_json,
        "next_round": ckpt.next_round,
        "run_dir": ckpt.run_dir,
        "last_update": None if last is None else [last[0], last[1], last[3], last[4]],
        "evals": ckpt.evals,
        "counters": ckpt.counters,
        "accusation": ckpt.accusation,
    }
    blob = {
        "meta": json.dumps(meta),
        "secret": _tensor(ckpt.secret),
        "replica": _tensor(ckpt.replica_state),
        "update": _tensor(last[2] if last else b""),
    }
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        torch.save(blob, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load(directory: str | Path) -> MasterCheckpoint | None:
    """The checkpoint in ``directory``, or None if there is none."""
    path = Path(directory) / FILE_NAME
    if not path.is_file():
        return None
    blob = torch.load(path, weights_only=True)
    meta = json.loads(blob["meta"])
    last = meta["last_update"]
    return MasterCheckpoint(
        run_id=meta["run_id"],
        secret=blob["secret"].numpy().tobytes(),
        config_json=meta["config_json"],
        next_round=int(meta["next_round"]),
        replica_state=blob["replica"].numpy().tobytes(),
        run_dir=meta["run_dir"],
        last_update=None
        if last is None
        else (
            int(last[0]),
            str(last[1]),
            blob["update"].numpy().tobytes(),
            int(last[2]),
            int(last[3]),
        ),
        evals=[(int(step), dict(m)) for step, m in meta["evals"]],
        counters={k: float(v) for k, v in meta["counters"].items()},
        accusation=dict(meta.get("accusation") or {}),
    )
