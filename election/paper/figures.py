"""A figure's plot in the paper's layout, and its summary, from the run folders of its lines.

Layout: one panel per x axis the figure has (``Figure.panels``): "epoch" (test accuracy in % vs
training epoch, the paper's CIFAR-10 panels), "time" (the same vs training wall-clock seconds,
Fig. 4(d)-(f)), "step" (test metric vs iteration, the Amazon and MPI runs). One curve per line;
lines with several Byzantine draws show their mean with the draws' range shaded.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from election.paper.presets import Figure
from election.paper.resolve import Resolved
from election.training.runs import read_metrics, write_json

AXES = {"epoch": "training epoch", "time": "training time (s)", "step": "step (iteration)"}
COLUMN = {"epoch": "epoch", "time": "wall_s", "step": "step"}


def _curves(runs: Sequence[Resolved], results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """line key -> {"label", "metric", "draws": [rows of metrics.csv per run]}."""
    out: dict[str, Any] = {}
    for run, result in zip(runs, results, strict=True):
        rows = read_metrics(Path(result["run_dir"]) / "metrics.csv")
        entry = out.setdefault(run.line.key, {"label": run.line.label, "draws": []})
        entry["metric"] = rows[0]["metric"] if rows else "accuracy"
        entry["draws"].append(rows)
    return out


def write_figure(
    figure: Figure,
    runs: Sequence[Resolved],
    results: Sequence[dict[str, Any]],
    out_dir: Path,
) -> dict[str, Any]:
    """figure.png, figure.json (and for Amazon table.md) in ``out_dir``; returns the summary."""
    curves = _curves(runs, results)
    plot_path = out_dir / "figure.png"
    _plot(figure, curves, plot_path)
    text = _text(figure, curves)
    summary = {
        "figure": figure.name,
        "title": figure.title,
        "plot": str(plot_path),
        "text": text,
        "runs": [
            {"scheme": r.line.key, "run_name": r.run_name, "run_dir": res["run_dir"],
             "final": res["final"], "model_sha256": res["model_sha256"]}
            for r, res in zip(runs, results, strict=True)
        ],
    }  # fmt: skip
    (out_dir / "table.md").write_text(text + "\n")
    write_json(out_dir / "figure.json", summary)
    return summary


def _text(figure: Figure, curves: dict[str, Any]) -> str:
    if figure.name.startswith("amazon") and set(curves) <= {"signsgd-mv", "bernoulli"}:
        from election.paper.amazon import format_table, summarize

        per_scheme = {
            k: [{int(r["step"]): float(r["value"]) for r in rows} for rows in v["draws"]]
            for k, v in curves.items()
        }
        try:
            return format_table(summarize(per_scheme))
        except KeyError:  # a shortened run (--steps) has no step 936
            pass
    lines = [f"| {figure.title} | final test metric | draws |", "|---|---|---|"]
    for v in curves.values():
        finals = [float(rows[-1]["value"]) for rows in v["draws"] if rows]
        mean = statistics.fmean(finals) if finals else float("nan")
        lines.append(f"| {v['label']} | {v['metric']} {mean:.4f} | {len(finals)} |")
    return "\n".join(lines)


def _plot(figure: Figure, curves: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = figure.panels
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.0), dpi=110)
    axes = [axes] if len(panels) == 1 else list(axes)
    for ax, panel in zip(axes, panels, strict=True):
        for v in curves.values():
            scale = 100.0 if v["metric"] == "accuracy" else 1.0  # the paper plots accuracy in %
            draws = [rows for rows in v["draws"] if rows]
            if not draws:
                continue
            n = min(len(rows) for rows in draws)
            xs = [statistics.fmean(float(rows[i][COLUMN[panel]]) for rows in draws)
                  for i in range(n)]  # fmt: skip
            ys = [[scale * float(rows[i]["value"]) for rows in draws] for i in range(n)]
            (line,) = ax.plot(xs, [statistics.fmean(y) for y in ys], linewidth=1.4,
                              label=v["label"])  # fmt: skip
            if len(draws) > 1:
                ax.fill_between(xs, [min(y) for y in ys], [max(y) for y in ys],
                                color=line.get_color(), alpha=0.2, linewidth=0)  # fmt: skip
        metric = next(iter(curves.values()))["metric"] if curves else "accuracy"
        ax.set_xlabel(AXES[panel])
        ax.set_ylabel("test accuracy (%)" if metric == "accuracy" else f"test {metric}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(figure.title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
