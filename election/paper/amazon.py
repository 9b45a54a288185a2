"""The official Amazon run's recorded figures and the statistics a replay is compared with.

The official code (amazon_employer/MPI_main.py) logged the test ROC AUC after every one of its
936 steps (n = 15, b = 5, directional attack) into two CSV files of that repository:
``1st_Trial_1_NumEpoch_8_ElectionCode_Batch_15_Gamma_0.000100_Eta_0.900000_numWorkers_15_Byz_5``
``_sumEnc_15_attackType_1.csv`` (the identity code, SignSGD-MV) and ``..._probEnc_0.133333_``
``attackType_1.csv`` (its Bernoulli matrix). Row k after the header is the AUC after step k.
Its Byzantine set was drawn without a seed, so a replay runs several Byzantine draws and
compares their mean (docs/paper.md, results/README.md).
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

CHECKPOINTS = (100, 300, 500, 700, 936)  # steps reported (936 = 8 epochs x 117 steps)
TARGET_STEPS = (100, 300, 936)  # the steps the replay's mean must match
TOLERANCE = 0.03  # |replay mean - official| allowed at TARGET_STEPS
# AUC at CHECKPOINTS read from the two official CSV files (rows 100, 300, 500, 700, 936).
OFFICIAL_AUC: dict[str, dict[int, float]] = {
    "signsgd-mv": {100: 0.575730, 300: 0.613114, 500: 0.630648, 700: 0.643210, 936: 0.654255},
    "bernoulli": {100: 0.603799, 300: 0.648560, 500: 0.666301, 700: 0.678497, 936: 0.688061},
}
LABELS = {"signsgd-mv": "SignSGD-MV (identity)", "bernoulli": "Bernoulli (official G)"}


@dataclass(frozen=True)
class Row:
    """One scheme at one step: the replay's draws against the official value."""

    scheme: str
    step: int
    values: tuple[float, ...]  # one AUC per Byzantine draw
    official: float

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def diff(self) -> float:
        return self.mean - self.official

    @property
    def target(self) -> bool:
        return self.step in TARGET_STEPS

    @property
    def within(self) -> bool:
        return abs(self.diff) <= TOLERANCE


def read_curve(run_dir: Path) -> dict[int, float]:
    """step -> test metric of one run folder's metrics.csv."""
    with (run_dir / "metrics.csv").open() as f:
        return {int(r["step"]): float(r["value"]) for r in csv.DictReader(f)}


def summarize(curves: Mapping[str, Sequence[Mapping[int, float]]]) -> list[Row]:
    """scheme -> one curve per Byzantine draw  ->  a Row per (scheme, checkpoint)."""
    rows = []
    for scheme, runs in curves.items():
        for step in CHECKPOINTS:
            values = tuple(run[step] for run in runs)
            rows.append(Row(scheme, step, values, OFFICIAL_AUC[scheme][step]))
    return rows


def format_table(rows: Sequence[Row]) -> str:
    """Markdown: mean and range of the draws beside the official AUC; targets marked."""
    draws = max(len(r.values) for r in rows)
    lines = [
        f"| scheme | step | replay mean ({draws} draws) | replay range | official | "
        f"mean - official | within ±{TOLERANCE} |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        verdict = ("yes" if r.within else "**no**") if r.target else "(not a target)"
        lines.append(
            f"| {LABELS.get(r.scheme, r.scheme)} | {r.step} | {r.mean:.4f} | "
            f"{min(r.values):.4f} - {max(r.values):.4f} | {r.official:.4f} | "
            f"{r.diff:+.4f} | {verdict} |"
        )
    return "\n".join(lines)


def plot(curves: Mapping[str, Sequence[Mapping[int, float]]], path: Path, *, title: str) -> None:
    """Mean AUC per step with the draws' range shaded; the official figures as markers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for scheme, runs in curves.items():
        steps = sorted(set.intersection(*(set(r) for r in runs)))
        per_step = [[r[s] for r in runs] for s in steps]
        mean = [statistics.fmean(v) for v in per_step]
        (line,) = ax.plot(steps, mean, linewidth=1.4, label=f"{LABELS[scheme]}, replay mean")
        color = line.get_color()
        ax.fill_between(steps, [min(v) for v in per_step], [max(v) for v in per_step],
                        color=color, alpha=0.2, linewidth=0)  # fmt: skip
        official = OFFICIAL_AUC[scheme]
        ax.plot(list(official), list(official.values()), "x", color=color, markersize=8,
                label=f"{LABELS[scheme]}, official run")  # fmt: skip
    ax.set_xlabel("step (iteration)")
    ax.set_ylabel("test ROC AUC")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
