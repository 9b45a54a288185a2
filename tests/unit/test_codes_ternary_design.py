"""Ternary-perfect codes: every shipped one verified exhaustively, the designer and its bounds."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from election.codes import make_code, ternary_store
from election.codes.bounds import ternary_lower_bound_ones
from election.codes.design import all_supports, minimum_redundancy_code
from election.codes.ternary import ternary_patterns, ternary_votes, verify_ternary
from election.codes.ternary_blocks import (
    block_sum_weights,
    construct_ternary_code,
    verify_union_blocks,
)
from election.codes.ternary_store import _load, entry_matrix, proven_lower_bound
from election.config import build_config
from election.errors import CodeError
from election_cli import main as cli

SHIPPED = sorted(_load().items())
EXHAUSTIVE_IN_DEFAULT_TIER = 9  # n <= 9: every pattern, every shipped code, in well under a second


@pytest.mark.parametrize(
    ("key", "entry"),
    [(k, e) for k, e in SHIPPED if k[0] <= EXHAUSTIVE_IN_DEFAULT_TIER],
    ids=[f"n{k[0]}b{k[1]}" for k, _ in SHIPPED if k[0] <= EXHAUSTIVE_IN_DEFAULT_TIER],
)
def test_every_shipped_ternary_code_up_to_n9_is_ternary_perfect_exhaustively(
    key: tuple[int, int], entry: dict[str, object]
) -> None:
    n, b = key
    g = entry_matrix(entry)  # type: ignore[arg-type]
    assert g.shape == (n, n) and int(g.sum()) == entry["ones"]
    result = verify_ternary(g, b, b + 1)
    assert result.ternary_perfect and result.never_opposite.ok
    assert result.movable_tie_fraction == pytest.approx(entry["movable_tie_fraction"])
    assert ternary_lower_bound_ones(n, b) <= int(g.sum())
    assert entry["optimal"] is (entry["ones"] == entry["lower_bound_ones"])
    assert proven_lower_bound(n, b) <= entry["lower_bound_ones"]  # type: ignore[operator]
    if not entry["optimal"]:  # only a time-limited ILP may leave a gap at n <= 9
        assert entry["method"] in ("ilp", "constructed"), entry["method"]
        assert "time limit" in str(entry["ilp_status"]).lower(), entry["ilp_status"]


@pytest.mark.parametrize(
    ("key", "entry"),
    [(k, e) for k, e in SHIPPED if k[0] > EXHAUSTIVE_IN_DEFAULT_TIER],
    ids=[f"n{k[0]}b{k[1]}" for k, _ in SHIPPED if k[0] > EXHAUSTIVE_IN_DEFAULT_TIER],
)
def test_larger_shipped_ternary_codes_pass_the_exact_block_count_check(
    key: tuple[int, int], entry: dict[str, object]
) -> None:
    n, b = key
    g = entry_matrix(entry)  # type: ignore[arg-type]
    if entry["verified"] == "analytic":  # the b = 0 identity: A(u) = |sum_i u_i| >= 1
        assert b == 0 and np.array_equal(g, np.eye(n)) and entry["movable_tie_fraction"] == 0
        return
    blocks = entry["blocks"] or ([list(range(n))] if g.all() else None)
    if blocks is None:  # an ILP code at n = 11 (exhaustive check: the slow tier)
        pytest.skip("not block-structured; verified exhaustively when written")
    result = verify_union_blocks(g, blocks, b, b + 1)  # type: ignore[arg-type]
    assert result.ternary_perfect
    assert result.movable_tie_fraction == pytest.approx(entry["movable_tie_fraction"])
    assert n * (2 * b + 1) <= entry["lower_bound_ones"] <= int(g.sum())  # type: ignore[operator]


@pytest.mark.slow
def test_shipped_n11_ternary_codes_are_exhaustively_ternary_perfect() -> None:
    for (n, b), entry in SHIPPED:
        if n == 11:
            assert verify_ternary(entry_matrix(entry), b, b + 1).ternary_perfect


def test_the_ilp_matches_brute_force_over_every_code_for_n3() -> None:
    """n = 3: every multiset of 3 supports; the least ones among ternary-perfect ones."""
    n = 3
    supports = all_supports(n).astype(np.uint8)
    u = ternary_patterns(n)
    mu = np.sign(u.sum(axis=1))
    for b in range(2):
        best = None
        for rows in itertools.combinations_with_replacement(range(len(supports)), n):
            g = supports[list(rows)]
            a = (mu[:, None] * ternary_votes(g, u)).sum(axis=1)
            if np.all(a[mu != 0] >= 2 * b + 1):
                best = int(g.sum()) if best is None else min(best, int(g.sum()))
        result = minimum_redundancy_code(n, b, ternary=True)
        assert result.optimal and result.ones == best
        assert ternary_lower_bound_ones(n, b) <= best


def test_block_sum_weights_count_the_ternary_vectors() -> None:
    for m in range(5):
        counts = np.bincount(ternary_patterns(m).sum(axis=1) + m, minlength=2 * m + 1) if m else [1]
        np.testing.assert_array_equal(block_sum_weights(m), counts)


@pytest.mark.parametrize(("n", "b"), [(5, 1), (7, 1), (7, 2), (9, 2), (9, 3)])
def test_block_count_verifier_equals_the_exhaustive_one_on_constructed_codes(
    n: int, b: int
) -> None:
    code = construct_ternary_code(n, b, max_blocks=4)
    for q in (1, b + 1, b + 2):
        fast = verify_union_blocks(code.matrix, code.blocks, b, q).to_json_dict()
        slow = verify_ternary(code.matrix, b, q).to_json_dict()
        for key in ("exact_nonzero", "dead_fixed", "never_opposite", "ties"):
            assert (fast[key]["patterns"], fast[key]["failures"]) == (
                slow[key]["patterns"],
                slow[key]["failures"],
            )
    assert code.ones >= ternary_lower_bound_ones(n, b)


def test_the_ternary_kind_is_shipped_instant_and_usable_in_a_run() -> None:
    code = make_code("ternary", n=7, b=2)
    assert code.kind == "ternary" and code.meta["optimal"] is True
    assert verify_ternary(code.matrix, 2, 3).ternary_perfect
    assert build_config({"code": "ternary", "n": 9, "b": 3}).code == "ternary"
    with pytest.raises(CodeError, match="odd"):
        make_code("ternary", n=8, b=1)
    with pytest.raises(CodeError, match="not a union"):
        verify_union_blocks(np.eye(3, dtype=np.uint8), [[0, 1, 2]], 0, 1)


def test_cli_ternary_table_and_design_guard(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["codes", "table", "--ternary", "--max-n", "7", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    row = next(r for r in rows if (r["n"], r["b"]) == (7, 1))
    assert row["binary_ones"] < row["ternary_ones"] and row["binary_exact_on_ternary"] < 1
    assert cli.main(["codes", "design", "--ternary", "--n", "7"]) == 2
    assert "--write" in capsys.readouterr().err
    assert cli.main(["codes", "design", "--kind", "ternary", "--n", "5", "--b", "1", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["kind"] == "ternary" and payload["lower_bound_ones"] == 19


def test_ternary_bounds_include_the_binary_ones_and_the_table_shows_gaps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """u in {-1, +1}^n has mu != 0, so a ternary-perfect code is {±1}-perfect: the shipped
    {±1} optima (41, 53 ones for (9, 1), (9, 2)) bound the ternary codes from below."""
    assert proven_lower_bound(9, 1) >= 41 and proven_lower_bound(9, 2) >= 53
    assert ternary_lower_bound_ones(13, 1) > 13 * 3  # the {±1} LP/knapsack bound beats the degree
    assert cli.main(["codes", "table", "--ternary", "--max-n", "13"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 13 | 1 |")]
    ones, bound, method = (cell.strip() for cell in lines[0].split("|")[5:8])
    assert method.endswith(f"gap {int(ones) - int(bound)}") and int(ones) > int(bound)


def test_design_writes_one_b_and_merges_under_a_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ternary.json"
    monkeypatch.setattr(ternary_store, "DATA_PATH", path)
    ternary_store._load.cache_clear()
    try:
        assert cli.main(["codes", "design", "--ternary", "--write", "--n", "5", "--b", "1"]) == 0
        assert cli.main(["codes", "design", "--ternary", "--write", "--n", "7", "--b", "0"]) == 0
        records = json.loads(path.read_text(encoding="utf-8"))["codes"]
        assert [(e["n"], e["b"]) for e in records] == [(5, 1), (7, 0)]
        assert records[0]["ones"] == 19 and records[0]["method"] == "optimal"
        assert cli.main(["codes", "design", "--ternary", "--write", "--b", "1", "--all"]) == 2
        assert "--b with --ternary --write needs --n" in capsys.readouterr().err
    finally:
        monkeypatch.undo()
        ternary_store._load.cache_clear()
