"""Accusation and robustness telemetry in the one master loop (docs/accusation.md).

Per round r, after the broadcast (so that over gRPC and MPI the workers' next round overlaps
it), the master hands the votes it received and the update it decoded to
:meth:`election.accusation.Accuser.observe` (Sohn et al. 2020, Sec. 2: honest votes are
E_j = sign(sum_{i in S_j} u_i), so a pattern no u produces proves a liar) and records:

    accusation.csv   one row per round: the round's proofs, min_liars, the sampled coordinates,
                     the telemetry shares and margin histogram, every worker's score s_jt
    metrics.csv      per evaluation: workers proven so far, quarantined, and the telemetry
                     shares averaged over the rounds since the last evaluation
    summary.json     ``accusation`` (proven set, first-proof round per worker, final scores)
                     and ``telemetry`` (mean shares, summed margin histogram)
    accusation.png   scores per worker (a mark at each first proof) and the telemetry shares

``--quarantine proven``: from the round after its first proof, a proven worker's votes count
as abstentions in the aggregate (and its losses in the train loss); the Accuser still sees
them. A proof is sound (docs/accusation.md), so only Byzantine votes are removed.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

import numpy as np

from election.accusation import Accuser, RoundEvidence
from election.training.setup import Setup
from election.votes.packed import PackedVote

ACCUSATION_FILE = "accusation.csv"  # per-round evidence, in the run folder
ACCUSATION_PLOT = "accusation.png"  # scores and telemetry over the rounds
SHARES = ("dead_share", "tie_share", "movable_share", "reversible_share")  # telemetry fields
# metrics.csv columns added when the accusation runs (window = rounds since the last evaluation)
WINDOW_COLUMNS = ("proven", "quarantined", "inconsistent_rounds", *SHARES[:3])
ROUND_DIGITS = 6  # decimals of shares and scores in the CSV files

T = TypeVar("T")


def _ids(workers: Iterable[int]) -> str:
    """Workers as "0;3" (CSV cell; "" = none)."""
    return ";".join(str(j) for j in sorted(workers))


def _round(x: float) -> float | None:
    return None if np.isnan(x) else round(float(x), ROUND_DIGITS)


class AccusationWatch:
    """The master's accusation state for one run (module docstring)."""

    def __init__(self, setup: Setup, run_dir: Path) -> None:
        cfg = setup.cfg
        self.n = cfg.n
        self.accuser = Accuser(setup.matrix, b=cfg.b, seed=cfg.seed)
        self.quarantine_on = cfg.quarantine == "proven"
        self.quarantined: set[int] = set()
        self.first_proof: dict[int, int] = {}  # worker -> round of its first proof
        self.quarantined_votes = 0  # votes counted as abstentions
        self.steps: list[int] = []
        self.scores: list[np.ndarray] = []  # per round (n,) float64
        self.shares: list[tuple[float, ...]] = []  # per round, SHARES
        self.margin_hist = np.zeros(cfg.n + 1, dtype=np.int64)  # summed over the rounds
        self.assumption_failed = 0  # rounds no set of <= b workers explains
        self.seconds = 0.0
        self.eval_every = cfg.eval_every
        self._window: list[tuple[bool, tuple[float, ...]]] = []  # (inconsistent, SHARES[:3])
        self.path = run_dir / ACCUSATION_FILE
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._file: TextIO = self.path.open("a", newline="")  # a resumed master appends
        self._csv = csv.writer(self._file)
        if fresh:
            self._csv.writerow(self.columns())
            self._file.flush()

    def columns(self) -> tuple[str, ...]:
        head = ("step", "ms", "coords", "inconsistent", "min_liars", "assumption_holds")
        proofs = ("proven", "newly_proven", "quarantined", *SHARES, "margin_hist")
        return head + proofs + tuple(f"score_{j}" for j in range(self.n))

    def mask(self, items: Sequence[T | None]) -> list[T | None]:
        """``items`` (votes or ballots) with the quarantined slots' entries replaced by None."""
        if not self.quarantined:
            return list(items)
        out = [None if j in self.quarantined else x for j, x in enumerate(items)]
        self.quarantined_votes += sum(
            x is not None for j, x in enumerate(items) if j in self.quarantined
        )
        return out

    def observe(self, step: int, votes: Sequence[Any], update: Any) -> RoundEvidence:
        """The round's evidence from the received votes and the decoded update."""
        started = time.perf_counter()
        packed = [v if isinstance(v, PackedVote) else None for v in votes]
        evidence = self.accuser.observe(step, packed, update)
        spent = time.perf_counter() - started
        self.seconds += spent
        for j in evidence.newly_proven:
            self.first_proof[j] = step
        if self.quarantine_on:
            self.quarantined.update(evidence.newly_proven)  # from the next round on
        tele, verdict = evidence.telemetry, evidence.accusation
        shares = tuple(getattr(tele, name) for name in SHARES)
        self.steps.append(step)
        self.scores.append(evidence.score)
        self.shares.append(shares)
        self.margin_hist += np.asarray(tele.margin_hist, dtype=np.int64)
        self.assumption_failed += not verdict.assumption_holds
        self._window.append((verdict.inconsistent > 0, shares[:3]))
        self._csv.writerow(
            [
                step,
                round(spent * 1000, 3),
                verdict.coords,
                verdict.inconsistent,
                "" if verdict.min_liars is None else verdict.min_liars,
                int(verdict.assumption_holds),
                _ids(verdict.proven),
                _ids(evidence.newly_proven),
                _ids(self.quarantined),
                *(round(x, ROUND_DIGITS) for x in shares),
                ";".join(str(c) for c in tele.margin_hist),
                *("" if s is None else s for s in map(_round, evidence.score)),
            ]
        )
        self._file.flush()
        return evidence

    def proof_line(self, step: int, worker: int, evidence: RoundEvidence) -> str:
        """The one log line of a worker's first proof."""
        verdict = evidence.accusation
        action = "; its later votes count as abstentions" if self.quarantine_on else ""
        return (
            f"round {step}: worker {worker} proven Byzantine ({verdict.inconsistent} of "
            f"{verdict.coords} sampled coordinates inconsistent, at least {verdict.min_liars} "
            f"liar(s)){action}"
        )

    def window_row(self) -> dict[str, Any]:
        """metrics.csv's accusation columns for the rounds since the last call."""
        window, self._window = self._window, []
        means = (
            np.array([shares for _, shares in window]).mean(axis=0)
            if window
            else np.full(3, np.nan)
        )
        return {
            "proven": _ids(self.first_proof),
            "quarantined": _ids(self.quarantined),
            "inconsistent_rounds": sum(inconsistent for inconsistent, _ in window),
        } | {name: f"{m:.{ROUND_DIGITS}f}" for name, m in zip(SHARES[:3], means, strict=True)}

    def summary(self) -> dict[str, Any]:
        """summary.json's ``accusation`` and ``telemetry`` entries."""
        rounds = len(self.steps)
        final = self.scores[-1] if self.scores else np.full(self.n, np.nan)
        shares = np.array(self.shares, dtype=np.float64).reshape(rounds, len(SHARES))
        mean = shares.mean(axis=0) if rounds else np.full(len(SHARES), np.nan)
        hist = self.margin_hist
        accusation = {
            "rounds": rounds,
            "proven": sorted(self.first_proof),
            "first_proof_round": {str(j): r for j, r in sorted(self.first_proof.items())},
            "final_scores": [_round(s) for s in final],
            "quarantine": "proven" if self.quarantine_on else "off",
            "quarantined": sorted(self.quarantined),
            "quarantined_votes": self.quarantined_votes,
            "assumption_failed_rounds": self.assumption_failed,
            "sampled_coords_per_round": self.accuser.windows * self.accuser.window_bytes * 8,
            "exact_table": self.accuser.table.exact,
            "ms_per_round": round(1000 * self.seconds / max(rounds, 1), 3),
        }
        telemetry: dict[str, Any] = {"rounds": rounds, "b": self.accuser.prover.b} | {
            f"{name}_mean": _round(m) for name, m in zip(SHARES, mean, strict=True)
        }
        telemetry["margin_hist"] = [int(c) for c in hist]
        total = int(hist.sum())
        telemetry["margin_median"] = (
            int(np.searchsorted(np.cumsum(hist), (total + 1) / 2)) if total else None
        )
        return {"accusation": accusation, "telemetry": telemetry}

    def state(self) -> dict[str, Any]:
        """What a master checkpoint keeps (JSON): quarantine, first proofs, scores, counts."""
        return {
            "quarantined": sorted(self.quarantined),
            "first_proof": {str(j): r for j, r in sorted(self.first_proof.items())},
            "scores": [None if np.isnan(x) else float(x) for x in self.accuser.scores.scores],
            "ever_proven": sorted(self.accuser.ever_proven),
            "quarantined_votes": self.quarantined_votes,
        }

    def restore(self, state: dict[str, Any], first_round: int) -> None:
        """Continue from :meth:`state` (a master resumed at ``first_round``): the quarantine,
        first proofs and scores from the checkpoint, the per-round series from accusation.csv."""
        self.quarantined = {int(j) for j in state.get("quarantined", ())}
        self.first_proof = {int(j): int(r) for j, r in state.get("first_proof", {}).items()}
        scores = [np.nan if x is None else float(x) for x in state.get("scores", ())]
        if len(scores) == self.n:
            self.accuser.scores.scores = np.array(scores, dtype=np.float64)
        self.accuser.ever_proven = {int(j) for j in state.get("ever_proven", ())}
        self.quarantined_votes = int(state.get("quarantined_votes", 0))
        self._reload_series(first_round)

    def _reload_series(self, first_round: int) -> None:
        """Read the rounds before ``first_round`` back from accusation.csv into the series
        (summary, plot and the open metrics window continue as if the master had never
        stopped), and rewrite the file without the rows of rounds the master will redo (those
        after its last checkpoint, and a row torn by the crash)."""
        self._file.close()
        with self.path.open(newline="") as f:
            header, *rows = list(csv.reader(f)) or [list(self.columns())]
        width, kept = len(self.columns()), []
        for row in rows:
            if len(row) == width and row[0].isdigit() and int(row[0]) < first_round:
                kept.append(row)
        window_start = first_round // self.eval_every * self.eval_every  # last evaluation
        first_share = self.columns().index(SHARES[0])
        for row in kept:
            step, shares = int(row[0]), tuple(float(x) for x in row[first_share : first_share + 4])
            self.steps.append(step)
            self.seconds += float(row[1]) / 1000
            self.assumption_failed += row[5] == "0"
            self.shares.append(shares)
            self.margin_hist += np.array(row[first_share + 4].split(";"), dtype=np.int64)
            self.scores.append(np.array([float(x or "nan") for x in row[-self.n :]]))
            if step >= window_start:
                self._window.append((int(row[3]) > 0, shares[:3]))
        staged = self.path.with_suffix(".tmp")
        with staged.open("w", newline="") as f:
            csv.writer(f).writerows([header, *kept])
        staged.replace(self.path)
        self._file = self.path.open("a", newline="")
        self._csv = csv.writer(self._file)

    def close(self) -> None:
        self._file.close()

    def plot(self, path: Path, title: str) -> None:
        """Scores per worker (x at each first proof) over the telemetry shares."""
        if not self.steps:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6.4), dpi=110, sharex=True)
        scores = np.array(self.scores)  # (rounds, n) float64
        for j in range(self.n):
            line = top.plot(self.steps, scores[:, j], linewidth=1.2, label=f"worker {j}")
            if self.first_proof.get(j) in self.steps:
                at = self.steps.index(self.first_proof[j])
                top.plot(self.steps[at], scores[at, j], "x", color=line[0].get_color(), ms=9)
        top.set_ylabel("score s_jt (x = first proof)")
        top.set_title(title)
        top.grid(alpha=0.3)
        top.legend(fontsize=7, ncol=2)
        shares = np.array(self.shares)  # (rounds, len(SHARES)) float64
        for k, name in enumerate(SHARES):
            bottom.plot(self.steps, shares[:, k], linewidth=1.2, label=name)
        bottom.set_xlabel("round")
        bottom.set_ylabel("share of sampled coordinates")
        bottom.grid(alpha=0.3)
        bottom.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
