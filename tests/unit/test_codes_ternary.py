"""The ternary verifier: analytic worst case vs brute force, counterexamples, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from election.codes import make_code
from election.codes.ternary import (
    brute_force,
    ternary_patterns,
    ternary_votes,
    verify_ternary,
    worst_case,
)
from election.errors import CodeError
from election.votes import quorum_ternary
from election_cli import main as cli


def random_matrix(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    g = (rng.random((n, n)) < p).astype(np.uint8)  # (n, n) uint8
    g[np.arange(n), rng.integers(0, n, size=n)] = 1  # no empty row
    return g


def codes_for_brute_force() -> list[tuple[str, np.ndarray, int]]:
    rng = np.random.default_rng(11)
    cases = []
    for n in (3, 5, 7):
        for b in range((n + 1) // 2):
            if n == 7 and b == 0:
                continue
            cases.append((f"det-{n}-{b}", make_code("deterministic", n=n, b=b).matrix, b))
        cases.append((f"uncoded-{n}", make_code("uncoded", n=n).matrix, 1))
        cases.append((f"random-{n}", random_matrix(rng, n, 0.4), min(2, n // 2)))
    return cases


CASES = codes_for_brute_force()


@pytest.mark.parametrize(("name", "matrix", "b"), CASES, ids=[c[0] for c in CASES])
def test_the_analytic_worst_case_equals_brute_force_over_every_attack(
    name: str, matrix: np.ndarray, b: int
) -> None:
    """Every Byzantine set of size b, every message in {-1, 0, +1, abstain}^b, every u."""
    for q in range(1, b + 3):
        got, want = worst_case(matrix, b, q), brute_force(matrix, b, q)
        np.testing.assert_array_equal(got.mu, want.mu)
        np.testing.assert_array_equal(got.exact, want.exact, err_msg=f"{name} q={q} exact")
        np.testing.assert_array_equal(got.opposite, want.opposite, err_msg=f"{name} q={q} opp")
        np.testing.assert_array_equal(got.moved, want.moved, err_msg=f"{name} q={q} moved")


def replay(matrix: np.ndarray, ce: object, q: int) -> int:
    """Decode the counterexample's attack independently: honest votes + the sent messages."""
    signs = np.array(ce.signs, dtype=np.int8)  # type: ignore[attr-defined]
    votes = ternary_votes(np.asarray(matrix), signs[None, :])[0].astype(np.int8)
    rows = []
    for j, vote in enumerate(votes):
        if j in ce.byzantine:  # type: ignore[attr-defined]
            msg = ce.messages[list(ce.byzantine).index(j)]  # type: ignore[attr-defined]
            if msg is not None:
                rows.append([msg])
        else:
            rows.append([int(vote)])
    return int(quorum_ternary(np.array(rows, dtype=np.int8), q)[0])


@pytest.mark.parametrize(("n", "b"), [(5, 1), (7, 1), (7, 2), (9, 2), (9, 3)])
def test_shipped_codes_on_ternary_signs_match_the_reference_figures(n: int, b: int) -> None:
    """Issue 11's figures: exact for (5,1), (7,2), (9,3); >98 % for (7,1), (9,2); never the
    opposite sign; dead coordinates movable under plain, never under quorum b + 1."""
    g = make_code("deterministic", n=n, b=b).matrix
    plain, quorum = verify_ternary(g, b, 1), verify_ternary(g, b, b + 1)
    for result in (plain, quorum):
        assert result.never_opposite.ok
        assert result.exact_nonzero.ok is ((n, b) in {(5, 1), (7, 2), (9, 3)})
        assert result.exact_nonzero.fraction_ok > 0.98
        assert result.exact_nonzero.patterns == (3**n - (result.ties.patterns + 1))
    assert plain.exact_nonzero.failures == quorum.exact_nonzero.failures  # q <= b + 1: same
    assert not plain.dead_fixed.ok and quorum.dead_fixed.ok
    assert plain.movable_tie_fraction == 1.0 > quorum.movable_tie_fraction
    for result, q in ((plain, 1), (quorum, b + 1)):
        for check in (result.exact_nonzero, result.dead_fixed, result.ties):
            ce = check.counterexample
            if ce is None:
                continue
            assert replay(g, ce, q) == ce.output != ce.honest_majority  # a real failure


def test_ternary_perfect_under_quorum_is_the_agreement_margin_condition() -> None:
    """q = b + 1: exact on every mu != 0 iff A(u) = sum_j mu E_j >= 2b + 1 for all those u."""
    rng = np.random.default_rng(5)
    for trial in range(40):
        n = int(rng.choice([3, 5, 7]))
        b = int(rng.integers(0, (n + 1) // 2))
        g = random_matrix(rng, n, float(rng.choice([0.5, 0.8, 1.0])))
        u = ternary_patterns(n)
        mu = np.sign(u.sum(axis=1))
        a = (mu[:, None] * ternary_votes(g, u)).sum(axis=1)
        margin_ok = bool(np.all(a[mu != 0] >= 2 * b + 1))
        result = verify_ternary(g, b, b + 1)
        assert result.exact_nonzero.ok is margin_ok, trial
        assert result.ternary_perfect is margin_ok


def test_the_verifier_rejects_bad_input() -> None:
    with pytest.raises(CodeError, match="quorum"):
        worst_case(np.eye(3, dtype=np.uint8), 1, 0)
    with pytest.raises(CodeError, match="n <= 7"):
        brute_force(np.eye(9, dtype=np.uint8), 1, 1)
    with pytest.raises(CodeError, match="n <= 13"):
        verify_ternary(np.eye(15, dtype=np.uint8), 1, 1)


def test_cli_verify_ternary_prints_json_and_exits_by_the_three_checks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["codes", "verify", "--kind", "deterministic", "--n", "5", "--b", "1", "--ternary"]
    assert cli.main([*argv, "--decoder", "quorum", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decoder"] == "quorum" and out["quorum"] == 2 and out["ternary_perfect"]
    assert cli.main([*argv, "--json"]) == 1  # plain: dead coordinates move
    out = json.loads(capsys.readouterr().out)
    assert out["dead_fixed"]["counterexample"]["signs"] == [0] * 5
    assert cli.main(["codes", "verify", "--b", "1", "--ternary"]) == 2
    assert "exactly one of --matrix" in capsys.readouterr().err
