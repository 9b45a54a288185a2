"""make_code, AllocationCode validation and matrix file loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from election.codes import CODE_KINDS, AllocationCode, load_matrix, make_code
from election.errors import CodeError


def test_code_kinds_are_listed_in_unknown_kind_error() -> None:
    with pytest.raises(CodeError) as info:
        make_code("hamming", n=5)
    for kind in CODE_KINDS:
        assert kind in str(info.value)


def test_uncoded_is_identity_with_redundancy_one() -> None:
    code = make_code("uncoded", n=4)
    assert np.array_equal(code.matrix, np.eye(4)) and code.redundancy == 1.0
    assert code.partitions_of(2) == (2,) and code.n == 4


def test_bernoulli_is_reproducible_per_seed_and_has_no_empty_rows() -> None:
    a = make_code("bernoulli", n=15, r=1.5, seed=3)
    b = make_code("bernoulli", n=15, r=1.5, seed=3)
    c = make_code("bernoulli", n=15, r=1.5, seed=4)
    assert np.array_equal(a.matrix, b.matrix) and not np.array_equal(a.matrix, c.matrix)
    for seed in range(20):
        assert make_code("bernoulli", n=9, r=0.5, seed=seed).matrix.sum(axis=1).min() >= 1


def test_bernoulli_redundancy_is_close_to_target_on_average() -> None:
    mean_r = np.mean([make_code("bernoulli", n=31, r=5.0, seed=s).redundancy for s in range(40)])
    assert mean_r == pytest.approx(5.0, rel=0.08)


def test_bernoulli_rejects_bad_redundancy() -> None:
    with pytest.raises(CodeError, match="r=0"):
        make_code("bernoulli", n=5, r=0.0)


@pytest.mark.parametrize(
    "values,message",
    [
        ([[1, 0], [0, 2]], "0 or 1"),
        ([[1, 0], [0, 0]], "worker 1 has no partition"),
        ([[1, 0, 1], [0, 1, 1]], "square"),
        ([[1, 0], [0, 1, 1]], "different lengths"),
        ([1, 0, 1], "2-D"),
    ],
)
def test_allocation_code_rejects_malformed_matrices(values: object, message: str) -> None:
    with pytest.raises(CodeError, match=message):
        AllocationCode(values, kind="file")  # type: ignore[arg-type]


def test_allocation_code_is_frozen_hashable_and_read_only() -> None:
    code = make_code("uncoded", n=3)
    assert hash(code) == hash(code)
    with pytest.raises(AttributeError):
        code.kind = "other"  # type: ignore[misc]
    with pytest.raises(ValueError):
        code.matrix[0, 0] = 0
    assert code.to_json_dict()["matrix"] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


def test_file_kind_loads_json_list_object_and_text(tmp_path: Path) -> None:
    rows = [[1, 1, 0], [0, 1, 0], [1, 1, 1]]
    (tmp_path / "a.json").write_text(json.dumps(rows))
    (tmp_path / "b.json").write_text(json.dumps({"matrix": rows, "b": 0}))
    (tmp_path / "c.txt").write_text("# comment\n1 1 0\n0,1,0\n\n111\n")
    for name in ("a.json", "b.json", "c.txt"):
        code = make_code("file", n=3, path=str(tmp_path / name))
        assert code.matrix.tolist() == rows and code.kind == "file"


@pytest.mark.parametrize(
    "text,message",
    [
        ("{not json", "not valid JSON"),
        ('{"rows": []}', "no 'matrix'"),
        ("[[1, true], [0, 1]]", "integers 0 or 1"),
        ("1 0\n0 1 1\n", "different lengths"),
        ("1 0\n0 x\n", "line 2"),
        ("", "no matrix rows"),
    ],
)
def test_bad_matrix_files_raise_code_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / ("m.json" if text.startswith(("{", "[")) else "m.txt")
    path.write_text(text)
    with pytest.raises(CodeError, match=message):
        load_matrix(path)


def test_missing_file_and_wrong_n_raise_code_error(tmp_path: Path) -> None:
    with pytest.raises(CodeError, match="cannot read"):
        load_matrix(tmp_path / "absent.json")
    (tmp_path / "m.txt").write_text("10\n01\n")
    with pytest.raises(CodeError, match="expected n=3"):
        make_code("file", n=3, path=str(tmp_path / "m.txt"))
