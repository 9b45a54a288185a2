"""`election compare --audit`: the table shows the decoder, the gap and deviations by kind."""

from __future__ import annotations

from election_cli.commands.compare import LINEUP, format_table


def row(name: str, final: float, quorum: int | None, dead: int) -> dict[str, object]:
    audit = {
        "nonzero": {"coords": 900, "deviations": 0},
        "tie": {"coords": 10, "deviations": 3},
        "dead": {"coords": 5000, "deviations": dead},
    }
    return {
        "name": name,
        "label": LINEUP[name][0],
        "code": "ternary",
        "redundancy": 3.8,
        "attack": "directional",
        "metric": "auc",
        "final": final,
        "wall_s": 1.0,
        "quorum": quorum,
        "audit": audit,
        "gap": final - 0.8,
    }


def test_audit_table_has_one_row_per_run_with_the_decoder_and_counts() -> None:
    table = format_table([row("ternary-plain", 0.7, None, 5000), row("ternary-quorum", 0.8, 2, 0)])
    lines = table.splitlines()
    assert len(lines) == 4 and "dead moved / dead" in lines[0]
    assert "| plain |" in lines[2] and "| -0.1000 |" in lines[2] and "5,000 / 5,000" in lines[2]
    assert "| quorum q=2 |" in lines[3] and "| +0.0000 |" in lines[3] and "0 / 5,000" in lines[3]
