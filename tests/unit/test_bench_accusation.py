"""`python -m bench.accusation`: one JSON object, proofs name only the attackers, bad input."""

from __future__ import annotations

import json

import pytest

from bench import accusation


@pytest.mark.parametrize("attack", ["reverse", "none"])
def test_bench_accusation_prints_one_json_object(
    attack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--n", "9", "--b", "2", "--d", "40000", "--repeat", "2", "--attack", attack, "--json"]
    assert accusation.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["coords_per_round"] == 4 * 32 * 8
    assert set(result["proven_last_round"]) <= set(result["byzantine"])
    if attack == "none":
        assert result["byzantine"] == [] and result["inconsistent_last_round"] == 0
    else:
        assert result["proven_last_round"], "reverse attackers on replicated rows are convicted"
    assert result["majority_ms"] <= result["majority_median_ms"]  # best of the repeats
    assert result["accusation_ms"] <= result["accusation_median_ms"]
    assert result["ratio_best"] == pytest.approx(
        result["accusation_ms"] / result["majority_ms"], rel=0.1
    )
    assert result["master_round_ms"] <= result["master_round_median_ms"]
    assert result["round_ratio_best"] == pytest.approx(
        result["accusation_ms"] / result["master_round_ms"], rel=0.1
    )


def test_bench_accusation_rejects_bad_arguments_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        accusation.main(["--windows", "0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "election: error: --n, --repeat, --windows, --window-bytes must be >= 1 and --d >= 8"
    ]
