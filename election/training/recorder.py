"""Records a run into its folder; shared by the in-process loop, the gRPC master and MPI rank 0.

Folder contents: ``config.json`` (the full config plus the derived code, Byzantine set and
step counts), ``metrics.csv`` (step, epoch, wall seconds, train loss, test metric),
``summary.json`` and ``curve.png`` (with ``--audit`` also ``audit.csv`` and ``audit.png``,
:mod:`election.training.audit`; with the accusation on, metrics.csv's accusation columns,
``accusation.csv`` and ``accusation.png``, :mod:`election.training.accusing`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from election.training.accusing import WINDOW_COLUMNS
from election.training.replica import Replica
from election.training.runs import MetricsWriter, new_run_dir, plot_curves, write_json
from election.training.setup import Setup


def default_run_name(setup: Setup) -> str:
    cfg = setup.cfg
    code = "uncoded" if cfg.code == "uncoded" else cfg.code.split(":")[0]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    scheme = cfg.scheme.replace(":", "-")  # byzfl:krum -> byzfl-krum (no ':' in folder names)
    return f"{cfg.dataset}-{scheme}-{code}-{cfg.attack}-n{cfg.n}b{cfg.b}-s{cfg.seed}-{stamp}"


class RunRecorder:
    def __init__(self, setup: Setup, *, run_dir: Path | None = None) -> None:
        self.setup = setup
        cfg = setup.cfg
        self.run_dir = run_dir or new_run_dir(cfg.runs_dir, cfg.run_name or default_run_name(setup))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.metric_name = setup.dataset.metric
        self.start = time.perf_counter()
        self.steps: list[int] = []
        self.values: list[float] = []
        self.last_metrics: dict[str, float] = {}
        write_json(self.run_dir / "config.json", self.describe())
        extra = WINDOW_COLUMNS if cfg.accusation_active else ()
        self.metrics = MetricsWriter(self.run_dir / "metrics.csv", extra)

    def describe(self) -> dict[str, Any]:
        s = self.setup
        return {
            "config": s.cfg.to_json_dict(),
            "code": {
                "kind": s.code.kind,
                "redundancy": s.code.redundancy,
                "matrix": [[int(v) for v in row] for row in s.matrix],
            },
            "byzantine": list(s.byzantine),
            "device": str(s.device),
            "steps_per_epoch": s.steps_per_epoch,
            "total_steps": s.total_steps,
            "n_train": s.dataset.n_train,
            "n_test": s.dataset.n_test,
        }

    @property
    def wall_s(self) -> float:
        return time.perf_counter() - self.start

    def log_eval(
        self,
        step: int,
        train_loss: float,
        metrics: dict[str, float],
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """One metrics.csv row; ``extra`` fills the accusation columns."""
        value = metrics[self.metric_name]
        self.steps.append(step)
        self.values.append(value)
        self.last_metrics = metrics
        self.metrics.write(
            {
                "step": step,
                "epoch": round(step / self.setup.steps_per_epoch, 4),
                "wall_s": round(self.wall_s, 3),
                "train_loss": f"{train_loss:.6f}",
                "metric": self.metric_name,
                "value": f"{value:.6f}",
                "test_loss": f"{metrics.get('test_loss', float('nan')):.6f}",
            }
            | dict(extra or {})
        )

    def finish(self, replica: Replica, steps_done: int, extra: dict[str, Any]) -> dict[str, Any]:
        self.metrics.close()
        summary = {
            "status": "completed",
            "model_sha256": replica.digest(),
            "final": {self.metric_name: self.values[-1] if self.values else None},
            "final_metrics": self.last_metrics,
            "steps": steps_done,
            "run_dir": str(self.run_dir),
            "wall_s": round(self.wall_s, 3),
            "transport": self.setup.cfg.transport,
            "scheme": self.setup.cfg.scheme,
            "decoder": self.setup.cfg.effective_decoder,  # auto resolved
            "quorum": self.setup.cfg.quorum_q,  # None = the plain rule
            "code": self.setup.code.kind,
            "redundancy": self.setup.code.redundancy,
            "attack": self.setup.cfg.attack,
            "byzantine": list(self.setup.byzantine),
            "n": self.setup.cfg.n,
            "b": self.setup.cfg.b,
            "seed": self.setup.cfg.seed,
        } | extra
        write_json(self.run_dir / "summary.json", summary)
        if self.values:
            plot_curves(
                [(self.label(), self.steps, self.values)],
                self.run_dir / "curve.png",
                ylabel=f"test {self.metric_name}",
                title=f"{self.setup.cfg.dataset}: {self.label()}",
            )
        return summary

    def fail(self, error: BaseException, steps_done: int) -> None:
        self.metrics.close()
        write_json(
            self.run_dir / "summary.json",
            {"status": "failed", "error": f"{type(error).__name__}: {error}", "steps": steps_done},
        )

    def label(self) -> str:
        cfg = self.setup.cfg
        decoder = "" if cfg.quorum_q is None else f" quorum={cfg.quorum_q}"
        return (
            f"{cfg.scheme}/{cfg.code}{decoder} r={self.setup.code.redundancy:.2f} "
            f"attack={cfg.attack}"
        )
