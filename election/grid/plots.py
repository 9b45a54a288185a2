"""The grid's figures (PNG, matplotlib Agg), from the result rows and the cells' metrics.csv.

- ``curves-<code>.png``: test metric vs step, one line per cell of that code;
- ``heatmap-attack-b-<code>.png``: attack x b, seed-mean final metric, one per code;
- ``heatmap-worst.png``: code x b, the worst case over attacks (:func:`table.worst_case`);
- ``frontier.png``: per (code, b), the worst case vs the measured redundancy r_eff and vs the
  mean wall seconds per cell, with the Pareto frontier of each b (no other point of that b is
  at least as good and at most as costly) drawn as a line: b is the threat, not a choice.
Grids that vary other fields (n, dataset, ...) get one set per facet, named by its values.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from election.grid.cells import cell_dir
from election.grid.table import code_label, facet_of, seed_means, varying, worst_case
from election.training.runs import read_metrics

Row = Mapping[str, Any]
DASHES = ("--", ":", "-.")  # one frontier line style per b
BRIGHT_CUTOFF = 0.6  # viridis is light above ~60 % of its range: annotate in black there


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def slug(text: str) -> str:
    """A file-name-safe form of a label ("bernoulli r=2" -> "bernoulli-r2")."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text.replace("=", "")).strip("-") or "x"


def pareto(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point dominates (cost x lower or equal AND metric y higher or equal,
    one strictly), sorted by cost: the cost frontier."""
    front = [p for p in points if not any(q[0] <= p[0] and q[1] >= p[1] and q != p for q in points)]
    return sorted(set(front))


def write_plots(grid_dir: Path, rows: Sequence[Row], axes: Sequence[str]) -> list[Path]:
    """Every figure of the module docstring for the completed rows; returns the paths."""
    done = [r for r in rows if r.get("status") == "completed" and r.get("final") is not None]
    if not done:
        return []
    varied = varying(done, axes)
    facets: dict[tuple, list[Row]] = {}
    for row in done:
        facets.setdefault(facet_of(row, varied), []).append(row)
    paths: list[Path] = []
    for facet, members in facets.items():
        suffix = "".join(f"-{slug(f'{k}{v}')}" for k, v in facet)
        title = ", ".join(f"{k}={v}" for k, v in facet)
        paths += _curves(grid_dir, members, varied, suffix, title)
        paths += _heatmaps_attack_b(grid_dir, members, varied, suffix, title)
        paths.append(_heatmap_worst(grid_dir, members, varied, suffix, title))
        paths.append(_frontier(grid_dir, members, varied, suffix, title))
    return paths


def _by_code(rows: Sequence[Row], varied: Sequence[str]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for row in rows:
        out.setdefault(code_label(row, varied), []).append(row)
    return out


def _curves(
    grid_dir: Path, rows: Sequence[Row], varied: Sequence[str], suffix: str, title: str
) -> list[Path]:
    plt = _pyplot()
    paths = []
    legend_fields = [f for f in varied if f not in ("code", "r", "decoder", "quorum")]
    for code, members in _by_code(rows, varied).items():
        fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
        for row in members:
            path = cell_dir(grid_dir, row["key"]) / "metrics.csv"
            if not path.exists():
                continue
            history = read_metrics(path)
            label = ", ".join(f"{f}={row[f]}" for f in legend_fields) or row["key"]
            xs = [int(h["step"]) for h in history]
            ys = [float(h["value"]) for h in history]
            ax.plot(xs, ys, marker="o", markersize=2.5, linewidth=1.2, label=label)
        ax.set_xlabel("step")
        ax.set_ylabel(f"test {rows[0]['metric']}")
        ax.set_title(f"{code}" + (f" ({title})" if title else ""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        out = grid_dir / f"curves-{slug(code)}{suffix}.png"
        fig.savefig(out)
        plt.close(fig)
        paths.append(out)
    return paths


def _heatmap(
    path: Path,
    matrix: list[list[float | None]],
    xlabels: Sequence[str],
    ylabels: Sequence[str],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    notes: list[list[str]] | None = None,
) -> Path:
    """One annotated heatmap (rows = ylabels, columns = xlabels; None = no cell)."""
    plt = _pyplot()
    import numpy as np

    data = np.array([[np.nan if v is None else v for v in r] for r in matrix], dtype=float)
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(xlabels), 1.4 + 0.55 * len(ylabels)), dpi=110)
    image = ax.imshow(data, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(xlabels)), labels=list(xlabels))
    ax.set_yticks(range(len(ylabels)), labels=list(ylabels))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    for i in range(len(ylabels)):
        for j in range(len(xlabels)):
            if np.isnan(data[i, j]):
                continue
            text = f"{data[i, j]:.3f}" + (f"\n{notes[i][j]}" if notes else "")
            bright = image.norm(data[i, j]) > BRIGHT_CUTOFF
            colour = "black" if bright else "white"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _sorted_values(rows: Sequence[Row], name: str) -> list[Any]:
    """The values of ``name`` in the order the spec lists them (rows are in cell order)."""
    return list(dict.fromkeys(r[name] for r in rows))


def _heatmaps_attack_b(
    grid_dir: Path, rows: Sequence[Row], varied: Sequence[str], suffix: str, title: str
) -> list[Path]:
    paths = []
    bs = _sorted_values(rows, "b")
    attacks = _sorted_values(rows, "attack")
    metric = rows[0]["metric"]
    for code, members in _by_code(rows, varied).items():
        means = {k: statistics.fmean(v) for k, v in seed_means(members, ("attack", "b")).items()}
        matrix = [[means.get((a, b)) for b in bs] for a in attacks]
        name = f"{code}: {metric}, mean over seeds" + (f" ({title})" if title else "")
        out = grid_dir / f"heatmap-attack-b-{slug(code)}{suffix}.png"
        paths.append(
            _heatmap(
                out, matrix, [str(b) for b in bs], attacks, xlabel="b", ylabel="attack", title=name
            )  # fmt: skip
        )
    return paths


def _code_rows(rows: Sequence[Row], varied: Sequence[str]) -> list[dict[str, Any]]:
    return [dict(r) | {"code_label": code_label(r, varied)} for r in rows]


def _heatmap_worst(
    grid_dir: Path, rows: Sequence[Row], varied: Sequence[str], suffix: str, title: str
) -> Path:
    labelled = _code_rows(rows, varied)
    worst = worst_case(labelled, ("code_label", "b"))
    codes = list(dict.fromkeys(r["code_label"] for r in labelled))
    bs = _sorted_values(rows, "b")
    matrix = [[worst[(c, b)].value if (c, b) in worst else None for b in bs] for c in codes]
    notes = [[worst[(c, b)].attack if (c, b) in worst else "" for b in bs] for c in codes]
    name = f"worst case over attacks: {rows[0]['metric']}" + (f" ({title})" if title else "")
    out = grid_dir / f"heatmap-worst{suffix}.png"
    return _heatmap(
        out, matrix, [str(b) for b in bs], codes, xlabel="b", ylabel="code", title=name,
        notes=notes,
    )  # fmt: skip


def frontier_points(rows: Sequence[Row], varied: Sequence[str]) -> list[dict[str, Any]]:
    """Per (code label, b): worst case over attacks, mean r_eff and mean wall s of its cells."""
    labelled = _code_rows(rows, varied)
    worst = worst_case(labelled, ("code_label", "b"))
    points = []
    for (code, b), w in worst.items():
        members = [r for r in labelled if r["code_label"] == code and r["b"] == b]
        points.append(
            {
                "code": code,
                "b": b,
                "worst": w.value,
                "attack": w.attack,
                "r_eff": statistics.fmean(float(r["r_eff"]) for r in members),
                "wall_s": statistics.fmean(float(r["wall_s"]) for r in members),
            }
        )
    return points


def _frontier(
    grid_dir: Path, rows: Sequence[Row], varied: Sequence[str], suffix: str, title: str
) -> Path:
    plt = _pyplot()
    points = frontier_points(rows, varied)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), dpi=110, sharey=True)
    codes = list(dict.fromkeys(p["code"] for p in points))
    colours = plt.get_cmap("tab10")
    for ax, cost, xlabel in (
        (axes[0], "r_eff", "redundancy r_eff (partitions per worker)"),
        (axes[1], "wall_s", "wall s per cell (training)"),
    ):
        for i, code in enumerate(codes):
            mine = [p for p in points if p["code"] == code]
            ax.scatter([p[cost] for p in mine], [p["worst"] for p in mine],
                       color=colours(i % 10), label=code, zorder=3)  # fmt: skip
            for p in mine:
                ax.annotate(f"b={p['b']}", (p[cost], p["worst"]), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")  # fmt: skip
        for k, b in enumerate(dict.fromkeys(p["b"] for p in points)):  # b is the threat
            front = pareto([(p[cost], p["worst"]) for p in points if p["b"] == b])
            ax.step([x for x, _ in front], [y for _, y in front], where="post", color="grey",
                    linewidth=1, linestyle=DASHES[k % len(DASHES)], label=f"frontier b={b}",
                    zorder=2)  # fmt: skip
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"worst-case final {rows[0]['metric']}")
    axes[0].legend(fontsize=7)
    fig.suptitle("cost frontier" + (f" ({title})" if title else ""), fontsize=10)
    fig.tight_layout()
    out = grid_dir / f"frontier{suffix}.png"
    fig.savefig(out)
    plt.close(fig)
    return out
