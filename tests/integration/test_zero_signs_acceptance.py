"""Issue 11's acceptance run: a ternary-perfect code under the quorum decoder on real gradients.

The exact command of the "Done when" (digits, n = 9, b = 3, directional attack on the heaviest
workers, 40 steps), run through the real CLI: with the quorum decoder q = b + 1 the audit must
find no coordinate-step where the update differs from mu = sign(sum_i u_i) while mu != 0, and
no dead coordinate (every u_i = 0) that moved (docs/codes.md, "Zero signs").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from election_cli.main import main

ACCEPTANCE = [
    "train",
    *("--dataset", "digits", "--steps", "40", "--seed", "7", "--n", "9", "--b", "3"),
    *("--code", "ternary", "--attack", "directional", "--byzantine-select", "heaviest"),
    *("--audit", "--json", "--quiet"),
]


def run(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 0
    return json.loads(capsys.readouterr().out)


def test_ternary_perfect_code_with_quorum_never_deviates_where_mu_is_nonzero_nor_moves_dead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = run([*ACCEPTANCE, "--decoder", "quorum"], tmp_path, capsys)
    assert (summary["decoder"], summary["quorum"], summary["steps"]) == ("quorum", 4, 40)
    assert len(summary["byzantine"]) == 3
    audit = summary["audit"]
    assert sum(audit[k]["coords"] for k in ("nonzero", "tie", "dead")) == 40 * summary["dim"]
    assert audit["nonzero"]["coords"] > 0
    assert audit["nonzero"]["deviations"] == 0 and audit["nonzero"]["opposite"] == 0
    assert audit["dead"]["deviations"] == 0
