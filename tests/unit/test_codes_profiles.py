"""election/codes/profiles.py: the closed-form LP step against brute force and against the LP
itself (the symmetry argument of its docstring), and the proofs against the known optima."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

from election.codes.design import ilp_model
from election.codes.profiles import lp_feasible, mean_vote, pattern_types, profiles, prove_above
from election.codes.ternary import verify_ternary
from election.codes.verify import verify
from election_cli import main as cli


@pytest.mark.parametrize("n", [3, 5, 7])
def test_mean_vote_is_the_average_over_every_support_and_placement(n: int) -> None:
    for plus, minus in {t for ternary in (False, True) for t in pattern_types(n, ternary=ternary)}:
        placements = [
            (set(pos), set(neg))
            for pos in itertools.combinations(range(n), plus)
            for neg in itertools.combinations([i for i in range(n) if i not in pos], minus)
        ]
        for size in range(1, n + 1):
            votes = [
                (len(s & pos) > len(s & neg)) - (len(s & pos) < len(s & neg))
                for s in map(set, itertools.combinations(range(n), size))
                for pos, neg in placements
            ]
            assert mean_vote(n, size, plus, minus) == Fraction(sum(votes), len(votes))


def lp_solvable(profile: tuple[int, ...], n: int, b: int, ternary: bool) -> bool:
    """The design LP with the profile fixed, solved directly (HiGHS)."""
    supports, constraints = ilp_model(n, b, ternary=ternary)
    sizes = supports.sum(axis=1)
    rows, lower, upper = [], [], []
    for c in constraints:
        rows.append(np.atleast_2d(c.A))
        lower.append(np.broadcast_to(c.lb, (rows[-1].shape[0],)))
        upper.append(np.broadcast_to(c.ub, (rows[-1].shape[0],)))
    a, lo, hi = np.vstack(rows), np.concatenate(lower), np.concatenate(upper)
    a_ub = np.vstack([a[np.isfinite(hi)], -a[np.isfinite(lo)]])
    b_ub = np.concatenate([hi[np.isfinite(hi)], -lo[np.isfinite(lo)]])
    a_eq = np.array([(sizes == s).astype(float) for s in range(1, n + 1)])
    b_eq = np.array([profile.count(s) for s in range(1, n + 1)], dtype=float)
    res = linprog(np.zeros(sizes.size), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq,
                  bounds=(0, n), method="highs")  # fmt: skip
    assert res.status in (0, 2), res.message
    return bool(res.status == 0)


@pytest.mark.parametrize(("n", "b"), [(3, 1), (5, 1), (5, 2)])
@pytest.mark.parametrize("ternary", [False, True])
def test_the_closed_form_lp_step_agrees_with_the_lp(n: int, b: int, ternary: bool) -> None:
    cases = list(profiles(n, 1, n * n))
    assert len(cases) == len(set(cases)) >= 10
    verdicts = [lp_feasible(p, n, b, ternary=ternary) for p in cases]
    assert verdicts == [lp_solvable(p, n, b, ternary) for p in cases]
    assert any(verdicts) and not all(verdicts)


def test_the_closed_form_lp_step_agrees_at_n_7_on_the_profiles_near_the_optimum() -> None:
    cases = list(profiles(7, 35, 42))  # (7, 2) ternary: the optimum is 41
    verdicts = [lp_feasible(p, 7, 2, ternary=True) for p in cases]
    assert verdicts == [lp_solvable(p, 7, 2, True) for p in cases]
    assert any(verdicts) and not all(verdicts)


@pytest.mark.parametrize(
    ("n", "b", "ternary", "optimum"),
    [(3, 1, False, 9), (5, 1, False, 19), (5, 2, False, 25), (5, 1, True, 19), (7, 2, True, 41)],
)
def test_no_code_below_the_optimum_and_a_perfect_code_at_it(
    n: int, b: int, ternary: bool, optimum: int
) -> None:
    below = prove_above(n, b, optimum - 1, ternary=ternary, time_limit=60)
    assert below.proven and below.found is None and below.infeasible == len(below.lp_feasible)
    at = prove_above(n, b, optimum, ternary=ternary, time_limit=60)
    assert not at.proven and at.found is not None
    matrix = at.found.matrix
    assert matrix.shape == (n, n) and int(matrix.sum()) <= optimum
    if ternary:
        assert verify_ternary(matrix, b, b + 1).ternary_perfect
    else:
        assert verify(matrix, b).perfect


def test_the_command_proves_the_shipped_code_minimal_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        cli.main(["codes", "prove", "--n", "7", "--b", "2", "--ternary", "--by-profile", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["ones_at_most"] == 40 and out["proven_lower_bound"] == 41  # shipped: 41 ones
    assert out["found"] is None and out["undecided_profiles"] == []
    assert cli.main(["codes", "prove", "--n", "5", "--b", "1", "--by-profile", "--ones", "19"]) == 0
    assert "found a code with" in capsys.readouterr().out
    assert cli.main(["codes", "prove", "--n", "6", "--b", "1", "--by-profile"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_ledger_resumes_a_proof_without_solving_again(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    first = prove_above(7, 2, 40, ternary=True, time_limit=60, ledger=ledger)
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert first.proven and first.from_ledger == 0 and len(lines) == len(first.lp_feasible) > 0
    assert {tuple(r["profile"]) for r in lines} == set(first.lp_feasible)
    assert all(r["verdict"] == "infeasible" and (r["n"], r["b"]) == (7, 2) for r in lines)
    with ledger.open("a") as f:  # another problem's line and a torn line are ignored
        f.write(json.dumps(lines[0] | {"b": 1}) + "\n" + '{"n": 7, "b"')
    again = prove_above(7, 2, 40, ternary=True, time_limit=60, ledger=ledger)
    assert again.proven and again.from_ledger == again.infeasible == first.infeasible
    assert len(ledger.read_text().splitlines()) == len(lines) + 2  # nothing solved, nothing added
    other = prove_above(5, 1, 18, ternary=True, time_limit=60, ledger=ledger)
    assert other.from_ledger == 0 and other.proven  # (5, 1): the optimum is 19


def test_a_ledger_skips_the_profiles_it_left_undecided_unless_asked(tmp_path: Path) -> None:
    profile = prove_above(7, 2, 40, ternary=True, time_limit=60).lp_feasible[0]
    ledger = tmp_path / "ledger.jsonl"
    row = {"n": 7, "b": 2, "ternary": True, "profile": list(profile), "verdict": "undecided"}
    ledger.write_text(json.dumps(row | {"seconds": 1.0, "time_limit": 30.0}) + "\n")
    same = prove_above(7, 2, 40, ternary=True, time_limit=30, ledger=ledger)
    assert same.undecided == [profile] and same.undecided_from_ledger == 1 and not same.proven
    assert len(ledger.read_text().splitlines()) == len(same.lp_feasible)  # the rest was solved
    longer = prove_above(7, 2, 40, ternary=True, time_limit=60, ledger=ledger)
    assert longer.proven and longer.undecided_from_ledger == 0  # a longer limit tries it again
    ledger.write_text(json.dumps(row | {"seconds": 1.0, "time_limit": 30.0}) + "\n")
    retried = prove_above(7, 2, 40, ternary=True, time_limit=30, ledger=ledger,
                          retry_undecided=True)  # fmt: skip
    assert retried.proven and retried.undecided == []
