"""Monte Carlo analysis vs its Bernoulli bound, and the ``election codes`` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from election.codes import make_code
from election.codes.analysis import bernoulli_failure_bound, failure_probability
from election_cli.main import main


@pytest.mark.parametrize("n,b,r,q", [(11, 1, 4.0, 0.9), (15, 1, 5.0, 0.8), (15, 2, 7.0, 0.9)])
def test_bernoulli_monte_carlo_stays_below_the_hoeffding_bound(
    n: int, b: int, r: float, q: float
) -> None:
    bound = bernoulli_failure_bound(n=n, b=b, r=r, q=q)
    for attack in ("omniscient", "reverse"):
        est = failure_probability(
            n=n, b=b, q=q, r=r, attack=attack, select="heaviest", trials=6000, seed=1
        )
        assert est.p_fail <= bound + 3 * est.stderr


def test_deterministic_code_never_fails_under_any_attack() -> None:
    g = make_code("deterministic", n=7, b=2).matrix
    for attack in ("reverse", "directional", "random", "omniscient"):
        for select in ("random", "heaviest"):
            est = failure_probability(
                n=7, b=2, q=0.6, matrix=g, attack=attack, select=select, trials=3000, seed=2
            )
            assert est.failures == 0, (attack, select)


def test_uncoded_fails_under_reverse_attack_and_explicit_selection_matters() -> None:
    g = np.eye(5, dtype=np.uint8)
    est = failure_probability(
        n=5,
        b=1,
        q=0.7,
        matrix=g,
        attack="reverse",
        select="explicit",
        workers=[0],
        trials=4000,
        seed=0,
    )
    assert 0.05 < est.p_fail < 0.6
    again = failure_probability(
        n=5,
        b=1,
        q=0.7,
        matrix=g,
        attack="reverse",
        select="explicit",
        workers=[0],
        trials=4000,
        seed=0,
    )
    assert again == est


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["codes", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_design_json_has_matrix_redundancy_and_bound(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "code.json"
    code, out, _ = run(capsys, "design", "--n", "5", "--b", "1", "--json", "--out", str(out_file))
    data = json.loads(out)
    assert code == 0 and data["redundancy"] == pytest.approx(3.8) and data["optimal"] is True
    assert data["n"] == 5 and data["b"] == 1 and data["kind"] == "deterministic"
    assert data["lower_bound"] == pytest.approx(3.8) and len(data["matrix"]) == 5
    assert json.loads(out_file.read_text())["matrix"] == data["matrix"]


def test_cli_verify_reports_counterexample_and_exit_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "id.txt"
    path.write_text("100\n010\n001\n")
    code, out, _ = run(capsys, "verify", "--matrix", str(path), "--b", "1", "--json")
    data = json.loads(out)
    assert code == 1 and data["perfect"] is False and len(data["counterexample"]["signs"]) == 3
    path.write_text("111\n111\n111\n")
    code, out, _ = run(capsys, "verify", "--matrix", str(path), "--b", "1", "--json")
    assert code == 0 and json.loads(out)["counterexample"] is None


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["design", "--n", "6", "--b", "1"], "odd"),
        (["design", "--n", "5", "--b", "3"], "2b+1"),
        (["verify", "--matrix", "/nonexistent/m.json", "--b", "1"], "cannot read"),
        (["prove", "--n", "4", "--b", "1"], "odd"),
        (["analyze", "--n", "5", "--q", "1.5"], "q=1.5"),
    ],
)
def test_cli_bad_input_is_one_line_error_exit_two(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_cli_bad_matrix_file_is_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "m.json"
    path.write_text("[[1, 0], [0, 1, 1]]")
    code, _, err = run(capsys, "verify", "--matrix", str(path), "--b", "0")
    assert code == 2 and "different lengths" in err and len(err.strip().splitlines()) == 1


def test_cli_prove_table_and_analyze(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prove", "--n", "5", "--b", "1", "--json")
    assert code == 0 and json.loads(out)["ones"] == 19 and json.loads(out)["optimal"]
    code, out, _ = run(capsys, "table", "--max-n", "7", "--markdown")
    assert code == 0 and "| 5 | 1 | 3.800 |" in out
    code, out, _ = run(
        capsys,
        "analyze",
        "--kind",
        "bernoulli",
        "--n",
        "9",
        "--b",
        "1",
        "--r",
        "3",
        "--q",
        "0.8",
        "--trials",
        "2000",
        "--redraw",
        "--json",
    )
    data = json.loads(out)
    assert code == 0 and data["p_fail"] <= data["upper_bound"] + 0.05
