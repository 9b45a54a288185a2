"""``--audit``: where the master's update differs from the all-partition majority mu.

Per step, with the partition signs u_i (d,) of all n partitions and the master's update out (d,):
mu = sign(sum_i u_i), and every coordinate is of one kind (docs/codes.md, "Zero signs"):

    nonzero  mu != 0                    (what perfect tolerance protects)
    tie      mu = 0, some u_i != 0      (cannot be protected in general)
    dead     every u_i = 0              (fixed under the quorum decoder with q = b + 1)

A *deviation* is a coordinate with out != mu; for nonzero coordinates we also count the
*opposite* ones (out = -mu). Counts are summed over the steps of each evaluation window
(``audit.csv``, ``audit.png``) and over the run (``summary.json["audit"]``). With a
ternary-perfect code and the quorum decoder the nonzero and dead deviations are 0 under every
attack (:mod:`election.codes.ternary`); under the plain rule every dead coordinate moves under a
directional attack.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

KINDS = ("nonzero", "tie", "dead")
COLUMNS = (
    "step",
    *(f"coords_{k}" for k in KINDS),
    *(f"dev_{k}" for k in KINDS),
    "dev_nonzero_opposite",
)


def step_counts(signs: Mapping[int, torch.Tensor], update: torch.Tensor) -> dict[str, int]:
    """One step's coordinate kinds and deviations (module docstring)."""
    u = torch.stack([signs[i] for i in sorted(signs)]).to(torch.int16)  # (n, d) int16
    mu = torch.sign(u.sum(dim=0))  # (d,) int16
    out = update.to(device=u.device, dtype=torch.int16)  # (d,) int16
    dead = ~(u != 0).any(dim=0)  # (d,) bool
    nonzero = mu != 0
    tie = ~nonzero & ~dead
    wrong = out != mu
    counts = {}
    for kind, mask in (("nonzero", nonzero), ("tie", tie), ("dead", dead)):
        counts[f"coords_{kind}"] = int(mask.sum())
        counts[f"dev_{kind}"] = int((mask & wrong).sum())
    counts["dev_nonzero_opposite"] = int((nonzero & (out == -mu)).sum())
    return counts


@dataclass
class Audit:
    """Accumulates step counts into windows and a run total; writes audit.csv as it goes."""

    path: Path
    window: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    rows: list[dict[str, int]] = field(default_factory=list)
    first: dict[str, int | None] = field(
        default_factory=lambda: {"dev_nonzero": None, "dev_dead": None, "dev_tie": None}
    )

    def __post_init__(self) -> None:
        with self.path.open("w", newline="") as f:
            csv.writer(f).writerow(COLUMNS)

    def add(self, step: int, counts: Mapping[str, int]) -> None:
        for key, value in counts.items():
            self.window[key] = self.window.get(key, 0) + value
            self.total[key] = self.total.get(key, 0) + value
            if key in self.first and value and self.first[key] is None:
                self.first[key] = step

    def close_window(self, step: int) -> None:
        row = {"step": step, **{c: self.window.get(c, 0) for c in COLUMNS[1:]}}
        self.rows.append(row)
        with self.path.open("a", newline="") as f:
            csv.writer(f).writerow([row[c] for c in COLUMNS])
        self.window = {}

    def summary(self, steps: int) -> dict[str, Any]:
        """summary.json["audit"]: per kind the coordinate-steps and deviations, summed."""
        out: dict[str, Any] = {"steps": steps}
        for kind in KINDS:
            out[kind] = {
                "coords": self.total.get(f"coords_{kind}", 0),
                "deviations": self.total.get(f"dev_{kind}", 0),
                "first_deviation_step": self.first[f"dev_{kind}"],
            }
        out["nonzero"]["opposite"] = self.total.get("dev_nonzero_opposite", 0)
        return out

    def plot(self, path: Path, title: str) -> None:
        """Deviations per window by kind (top) and coordinates of each kind (bottom)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        steps = [r["step"] for r in self.rows]
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 5.6), dpi=110, sharex=True)
        for kind in KINDS:
            top.plot(steps, [r[f"dev_{kind}"] for r in self.rows], marker="o", label=kind)
            bottom.plot(steps, [r[f"coords_{kind}"] for r in self.rows], marker="o", label=kind)
        top.set_ylabel("deviations (out != mu)")
        top.set_yscale("symlog", linthresh=1)
        bottom.set_ylabel("coordinates of each kind")
        bottom.set_yscale("symlog", linthresh=1)
        bottom.set_xlabel("step (summed over each evaluation window)")
        top.set_title(title)
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
