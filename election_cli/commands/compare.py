"""``election compare``: several schemes on the same seed and data, one table, one plot.

The default line-up is the paper's Fig. 4: SignSGD-MV with no attack, SignSGD-MV under the
attack, a Bernoulli code and the deterministic code, both under the attack. With no arguments
it runs the embedded default (digits, n = 5, b = 1, reverse attack).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from election.errors import ConfigError
from election.flags import add_training_flags, config_from_args
from election.training.runs import new_run_dir, plot_curves, read_metrics, write_json
from election_cli.commands.train import run_training

# name -> (label, overrides applied on top of the shared flags)
LINEUP: dict[str, tuple[str, dict[str, Any]]] = {
    "no-attack": ("SignSGD-MV, no attack", {"code": "uncoded", "attack": "none"}),
    "signsgd-mv": ("SignSGD-MV under attack", {"code": "uncoded"}),
    "bernoulli": ("Bernoulli code under attack", {"code": "bernoulli"}),
    "deterministic": ("Deterministic code under attack", {"code": "deterministic"}),
    # the decoders (docs/codes.md, "Zero signs"): shipped {-1,+1} codes vs ternary-perfect codes
    "signsgd-mv-quorum": ("SignSGD-MV + quorum", {"code": "uncoded", "decoder": "quorum"}),
    "bernoulli-quorum": (
        "Bernoulli code, quorum decoder",
        {"code": "bernoulli", "decoder": "quorum"},
    ),
    "deterministic-plain": (
        "Deterministic code, plain decoder",
        {"code": "deterministic", "decoder": "plain"},
    ),
    "deterministic-quorum": (
        "Deterministic code, quorum decoder",
        {"code": "deterministic", "decoder": "quorum"},
    ),
    "ternary-plain": (
        "Ternary-perfect code, plain decoder",
        {"code": "ternary", "decoder": "plain"},
    ),
    "ternary-quorum": (
        "Ternary-perfect code, quorum decoder",
        {"code": "ternary", "decoder": "quorum"},
    ),
    "ternary-quorum-no-attack": (
        "Ternary-perfect code, quorum decoder, no attack",
        {"code": "ternary", "decoder": "quorum", "attack": "none"},
    ),
    "signed-sum": ("Signed sum under attack", {"code": "uncoded", "scheme": "signed-sum"}),
    "median": ("Coordinate median under attack", {"code": "uncoded", "scheme": "median"}),
    "sgd": (
        "SGD (no attack, full gradients)",
        {"code": "uncoded", "scheme": "sgd", "attack": "none"},
    ),
}
DEFAULT_LINEUP = "no-attack,signsgd-mv,bernoulli,deterministic"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="run several schemes on the same seed and data (the paper's Fig. 4)",
        description="Runs each --lineup scheme with the shared flags; writes a table and a plot.",
    )
    parser.add_argument(
        "--lineup",
        default=DEFAULT_LINEUP,
        help=f"comma-separated from {', '.join(LINEUP)} (default {DEFAULT_LINEUP})",
    )
    add_training_flags(parser)
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    names = [name.strip() for name in args.lineup.split(",") if name.strip()]
    unknown = [name for name in names if name not in LINEUP]
    if unknown or not names:
        raise ConfigError(f"unknown lineup entries {unknown}; known: {', '.join(LINEUP)}")
    base = config_from_args(args, env=os.environ)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = new_run_dir(base.runs_dir, f"compare-{base.dataset}-n{base.n}b{base.b}-{stamp}")
    rows, curves = [], []
    for name in names:
        label, changes = LINEUP[name]
        cfg = base.replace(**changes, runs_dir=str(out_dir), run_name=name)
        summary = run_training(cfg, progress=not args.quiet)
        metric = next(iter(summary["final"]))
        history = read_metrics(out_dir / name / "metrics.csv")
        curves.append(
            (label, [int(r["step"]) for r in history], [float(r["value"]) for r in history])
        )
        rows.append(
            {
                "name": name,
                "label": label,
                "code": cfg.code,
                "redundancy": summary["redundancy"],
                "attack": cfg.attack,
                "metric": metric,
                "final": summary["final"][metric],
                "model_sha256": summary["model_sha256"],
                "wall_s": summary["wall_s"],
                "decoder": summary.get("decoder"),
                "quorum": summary.get("quorum"),
                "audit": summary.get("audit"),
            }
        )
    clean = next((r["final"] for r in rows if r["name"] == "no-attack"), None)
    for row in rows:  # gap to the attack-free SignSGD-MV run, when it is in the line-up
        row["gap"] = None if clean is None or row["final"] is None else row["final"] - clean
    metric = rows[0]["metric"]
    plot_curves(
        curves,
        out_dir / "compare.png",
        ylabel=f"test {metric}",
        title=f"{base.dataset}: n={base.n}, b={base.b}, attack={base.attack}",
    )
    table = format_table(rows)
    (out_dir / "compare.md").write_text(table + "\n")
    result = {"run_dir": str(out_dir), "plot": str(out_dir / "compare.png"), "rows": rows}
    write_json(out_dir / "compare.json", result)
    print(
        json.dumps(result, sort_keys=True) if args.json else table + f"\n\nplot: {result['plot']}"
    )
    return 0


def format_table(rows: list[dict[str, Any]]) -> str:
    if any(row.get("audit") for row in rows):
        return format_audit_table(rows)
    lines = [
        f"| scheme | code | r | attack | final {rows[0]['metric']} | wall s |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['label']} | {row['code']} | {row['redundancy']:.2f} | {row['attack']} | "
            f"{row['final']:.4f} | {row['wall_s']:.1f} |"
        )
    return "\n".join(lines)


def _kind_cell(audit: dict[str, Any], name: str) -> str:
    k = audit.get(name)
    return "-" if k is None else f"{k['deviations']:,} / {k['coords']:,}"


def format_audit_table(rows: list[dict[str, Any]]) -> str:
    """With --audit: the decoder, the gap to no-attack, and deviations / coordinates by kind."""
    lines = [
        f"| scheme | code | r | decoder | attack | final {rows[0]['metric']} | gap | "
        "dev. mu != 0 | dead moved / dead | tie moved / tie |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        audit = row.get("audit") or {}
        decoder = "plain" if row.get("quorum") is None else f"quorum q={row['quorum']}"
        gap = "-" if row.get("gap") is None else f"{row['gap']:+.4f}"
        nonzero = audit.get("nonzero")
        dev = "-" if nonzero is None else f"{nonzero['deviations']:,}"
        lines.append(
            f"| {row['label']} | {row['code']} | {row['redundancy']:.2f} | {decoder} | "
            f"{row['attack']} | {row['final']:.4f} | {gap} | {dev} | "
            f"{_kind_cell(audit, 'dead')} | {_kind_cell(audit, 'tie')} |"
        )
    return "\n".join(lines)
