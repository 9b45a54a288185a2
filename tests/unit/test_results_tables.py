"""results/decoders_table.py and results/embed_tables.py: tables come from the run folders."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "results" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kind(deviations: int, coords: int, **extra: int) -> dict[str, int]:
    return {"deviations": deviations, "coords": coords, **extra}


def write_run(compare: Path, name: str, *, attack: str, final: float, quorum: int | None) -> None:
    run = compare / name
    run.mkdir(parents=True)
    audit = {
        "nonzero": kind(7 if quorum is None else 0, 100, opposite=2 if quorum is None else 0),
        "tie": kind(3, 10),
        "dead": kind(0 if quorum else 5, 5),
    }
    summary = {
        "n": 5, "b": 1, "seed": 7, "steps": 40, "attack": attack, "redundancy": 3.8,
        "quorum": quorum, "final": {"accuracy": final}, "audit": audit,
    }  # fmt: skip
    (run / "summary.json").write_text(json.dumps(summary))
    config = {"dataset": "digits", "byzantine_select": "heaviest"}
    (run / "config.json").write_text(json.dumps({"config": config}))


def test_rows_in_lineup_order_with_the_gap_to_the_attack_free_run(tmp_path: Path) -> None:
    compare = tmp_path / "compare-digits-n5b1-1"
    write_run(compare, "no-attack", attack="none", final=0.75, quorum=None)
    write_run(compare, "ternary-quorum", attack="directional", final=0.70, quorum=2)
    write_run(compare, "ternary-plain", attack="directional", final=0.80, quorum=None)
    names = ["no-attack", "ternary-quorum", "ternary-plain"]
    (compare / "compare.json").write_text(json.dumps({"rows": [{"name": n} for n in names]}))
    lines = load("decoders_table").table([tmp_path]).splitlines()
    assert lines[0].count("|") == lines[1].count("|") == 14
    assert [line.split(" | ")[2] for line in lines[2:]] == names
    assert "| - | 40 | 0.7500 | +0.0000 | 7 (2) | 5 / 5 | 3 / 10 |" in lines[2]
    assert (
        "| quorum q=2 | directional | heaviest | 40 | 0.7000 | -0.0500 | 0 (0) | 0 / 5 |"
        in (lines[3])
    )
    assert "| 0.8000 | +0.0500 |" in lines[4]


def test_embed_replaces_only_the_marked_block(tmp_path: Path) -> None:
    embed = load("embed_tables")
    source = tmp_path / "table.md"
    source.write_text("| a |\n|---|\n| 1 |\n")
    doc = tmp_path / "doc.md"
    marker = f"<!-- table: {source} -->"
    doc.write_text(f"before\n{marker}\nold\n<!-- /table -->\nafter\n")
    assert embed.embed(doc) is True
    assert doc.read_text() == f"before\n{marker}\n| a |\n|---|\n| 1 |\n<!-- /table -->\nafter\n"
    assert embed.embed(doc) is False
